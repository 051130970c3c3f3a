package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ConfigError is a catalog source set up in a way herald cannot read:
// Setting is the campaign key at fault ("source.currency", "source.fields.price")
// and Err says what to write instead.
type ConfigError struct {
	Setting string
	Err     error
}

func (e *ConfigError) Error() string { return e.Setting + ": " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks the source's settings without fetching anything: a known
// format and a URL; a currency that is an ISO 4217 code, and one at all
// for shopify (whose products.json does not say); fields only for csv and
// json, naming herald's fields (FieldNames) with a column or path each;
// items only for json, as a dotted path. The error is a *ConfigError, or
// several joined with errors.Join.
//
// Every format's decoder runs the same checks, so a Scan of a source that
// was not validated fails with the same error, after its first fetch.
func (s *Source) Validate() error {
	var errs []error
	add := func(setting, format string, args ...any) {
		errs = append(errs, &ConfigError{Setting: setting, Err: fmt.Errorf(format, args...)})
	}
	known := slices.Contains(Formats, s.Format)
	switch {
	case s.Format == "":
		add("source.format", "missing: herald reads %s", strings.Join(Formats, ", "))
	case !known:
		add("source.format", "unknown format %q: herald reads %s", s.Format, strings.Join(Formats, ", "))
	}
	if strings.TrimSpace(s.URL) == "" {
		add("source.url", "missing: give the shop's address, the feed's URL or a file path")
	}
	if strings.TrimSpace(s.Currency) != "" {
		if _, err := normalizeCurrency(s.Currency); err != nil {
			errs = append(errs, &ConfigError{Setting: "source.currency", Err: err})
		}
	} else if s.Format == Shopify {
		add("source.currency", "missing: a Shopify shop's products.json does not say its currency, so set it, like currency: USD")
	}
	if len(s.Fields) > 0 && s.Format != CSV && s.Format != JSON && known {
		add("source.fields", "only csv and json catalogs map fields; %s catalogs name theirs", s.Format)
	}
	if s.Format == CSV || s.Format == JSON {
		holder := "JSON path"
		if s.Format == CSV {
			holder = "column"
		}
		for _, name := range sortedFieldNames(s.Fields) {
			setting := "source.fields." + name
			switch col := s.Fields[name]; {
			case !slices.Contains(FieldNames, name):
				add(setting, "herald has no field %q: its fields are %s", name, strings.Join(FieldNames, ", "))
			case strings.TrimSpace(col) == "":
				add(setting, "empty: name the %s that holds the %s", holder, name)
			case s.Format == JSON && !validPath(col):
				add(setting, "%q is not a JSON path: write keys and list positions joined by dots, like offers.0.price", col)
			}
		}
	}
	if s.Items != "" {
		switch {
		case s.Format != JSON && known:
			add("source.items", "only json catalogs have items: (the path of the product list)")
		case !validPath(s.Items):
			add("source.items", "%q is not a JSON path: write keys joined by dots, like data.products", s.Items)
		}
	}
	return errors.Join(errs...)
}

// validPath reports whether p is a dotted path without empty steps.
func validPath(p string) bool {
	if p == "" {
		return false
	}
	for seg := range strings.SplitSeq(p, ".") {
		if strings.TrimSpace(seg) == "" {
			return false
		}
	}
	return true
}

func sortedFieldNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
