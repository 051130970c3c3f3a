package catalog

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiURL parses the URL of a shop for a paginated API, which must be an
// http(s) URL with a host (a local file is read as one page and never
// gets here).
func apiURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a shop address: write it like https://shop.example.com", raw)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// setDefault sets the query parameter name to value unless it is present.
func setDefault(q url.Values, name, value string) {
	if q.Get(name) == "" {
		q.Set(name, value)
	}
}

// queryInt reads a positive whole-number query parameter; def when absent.
func queryInt(u *url.URL, name string, def int) (int, error) {
	v := u.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("the page URL's %s=%q is not a positive whole number", name, v)
	}
	return n, nil
}

// withPage returns u with its page parameter set to n.
func withPage(u *url.URL, n int) string {
	next := *u
	q := next.Query()
	q.Set("page", strconv.Itoa(n))
	next.RawQuery = q.Encode()
	return next.String()
}

// linkNext returns the URL of an HTTP Link header's rel="next" link,
// resolved against the page it came with, or "" when there is none.
func linkNext(cur *url.URL, h http.Header) (string, error) {
	for _, v := range h.Values("Link") {
		for len(v) > 0 {
			start := strings.IndexByte(v, '<')
			end := strings.IndexByte(v, '>')
			if start < 0 || end < start {
				break
			}
			target := v[start+1 : end]
			v = v[end+1:]
			params := v
			if i := strings.IndexByte(v, '<'); i >= 0 {
				params = v[:i]
			}
			if !relIsNext(params) {
				continue
			}
			u, err := cur.Parse(strings.TrimSpace(target))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				return "", fmt.Errorf("the Link header's next page %q is not a URL herald can follow", target)
			}
			if u.String() == cur.String() {
				return "", errors.New("the Link header's next page is the page itself: the shop's pagination goes round in a circle")
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// relIsNext reports whether a link's parameters (`; rel="next"`) include
// the relation next.
func relIsNext(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		value = strings.Trim(strings.TrimRight(strings.TrimSpace(value), ", "), `"`)
		for _, rel := range strings.Fields(value) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}
