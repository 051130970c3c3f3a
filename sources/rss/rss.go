// Package rss is herald's source for RSS, Atom and JSON Feed, parsed with
// gofeed and turned into sources.Item: plain-text titles and summaries,
// absolute links and images, stable dedupe keys, newest first.
package rss

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	jsonfeed "github.com/mmcdole/gofeed/json"
	gorss "github.com/mmcdole/gofeed/rss"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/fetch"
)

// Source is one feed. Its URL may be http(s), file:// or a local path.
type Source struct {
	URL string
	// Client fetches the feed; a package-wide default when nil. Sources
	// should share one Client so that its per-host limit holds.
	Client *fetch.Client
}

var defaultClient = &fetch.Client{}

// Fetch gets the feed with a conditional GET (prev are the validators of the
// last successful fetch) and parses it. A 304 returns a Result with
// NotModified set and prev's validators.
//
// Errors are *sources.FetchError: what fetch.Client.Get returns, or, for a
// body that is not a feed, one wrapping sources.ErrNotFeed with the HTTP
// status, content type and the start of the body; for a feed that cannot be
// parsed, one wrapping sources.ErrMalformedFeed.
func (s *Source) Fetch(ctx context.Context, prev sources.Validators) (sources.Result, error) {
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Get(ctx, s.URL, prev)
	if err != nil {
		return sources.Result{}, err
	}
	if resp.NotModified {
		// The feed's ttl is in the body a 304 does not send: only the
		// headers say how long to wait this time.
		return sources.Result{
			NotModified: true,
			Validators:  resp.Validators,
			MinInterval: sources.CapInterval(resp.MaxAge),
		}, nil
	}
	res, err := parse(resp.Body, resp.FinalURL, resp.ContentType)
	if err != nil {
		var fe *sources.FetchError
		if errors.As(err, &fe) {
			fe.URL = s.URL
			if resp.Status != 0 {
				// What the server said beats what the body looks like.
				fe.Status = resp.Status
				fe.ContentType = resp.ContentType
			} else {
				// A local file: its owner can look at it, and quoting an
				// arbitrary file (a campaign could name ~/.netrc) into
				// CI logs is not worth the help.
				fe.Snippet = ""
				if len(resp.Body) == 0 {
					fe.ContentType = "an empty file"
				}
			}
		}
		return sources.Result{}, err
	}
	res.Validators = resp.Validators
	if resp.Status == 0 {
		// A local file: re-reading it costs nobody anything, and its ttl
		// was written for whoever polls it over HTTP.
		res.MinInterval = 0
	} else {
		res.MinInterval = sources.CapInterval(max(res.MinInterval, resp.MaxAge))
	}
	return res, nil
}

// Parse parses an RSS (0.9x, 1.0, 2.0), Atom (0.3, 1.0) or JSON Feed (1.0,
// 1.1) document. baseURL is where it came from: relative links and images
// are resolved against it (or, when it is not an http(s) URL, against the
// feed's own link). Items come newest first, each with a non-empty Key.
// MinInterval is the feed's RSS <ttl>, at most 24h; 0 when it has none or
// it is not a positive whole number of minutes.
//
// A body that is not a feed returns a *sources.FetchError wrapping
// sources.ErrNotFeed; a feed that cannot be parsed, one wrapping
// sources.ErrMalformedFeed. A valid feed with no items is not an error.
func Parse(body []byte, baseURL string) (sources.Result, error) {
	return parse(body, baseURL, "")
}

func parse(body []byte, baseURL, contentType string) (sources.Result, error) {
	data := toUTF8(body, contentType)

	parsed, err := parseFeed(data)
	if err != nil {
		fe := &sources.FetchError{URL: baseURL, Err: err}
		if errors.Is(err, sources.ErrNotFeed) {
			fe.ContentType = sniffContentType(data)
			fe.Snippet = sources.Snippet(data)
			if links := feedLinks(data, httpURL(baseURL)); len(links) > 0 {
				fe.Hint = "the page links to a feed: " + links[0]
				if len(links) > 1 {
					fe.Hint = fmt.Sprintf("the page links to %d feeds: %s", len(links), strings.Join(links, ", "))
				}
			}
		}
		return sources.Result{}, fe
	}
	feed, text := parsed.feed, parsed.text

	base := httpURL(baseURL)
	if base == nil {
		for _, l := range append([]string{feed.Link, feed.FeedLink}, feed.Links...) {
			if base = httpURL(l); base != nil {
				break
			}
		}
	}

	res := sources.Result{
		Title:       sources.PlainTitle(feed.Title),
		MinInterval: ttl(parsed.ttl),
	}
	seen := make(map[string]bool, len(feed.Items))
	items := make([]sources.Item, 0, len(feed.Items))
	for i, fi := range feed.Items {
		if fi == nil {
			continue
		}
		var tf textFields
		if i < len(text) {
			tf = text[i]
		}
		it, ok := convertItem(fi, tf, base)
		if !ok {
			continue
		}
		items = append(items, it)
	}
	sortNewestFirst(items)
	for _, it := range items {
		// A feed that repeats an item lists it once: the newest copy.
		if seen[it.Key] {
			continue
		}
		seen[it.Key] = true
		res.Items = append(res.Items, it)
	}
	return res, nil
}

// parsedFeed is a feed as gofeed translates it, with what herald reads from
// the format's own parser that gofeed's universal Feed leaves out.
type parsedFeed struct {
	feed *gofeed.Feed
	// text is per item, for a JSON Feed; nil for the others.
	text []textFields
	// ttl is an RSS feed's <ttl> as written: minutes, in theory.
	ttl string
}

// parseFeed detects the format and parses data (UTF-8 by now) with the
// matching gofeed parser. The parsers are called directly rather than
// through gofeed.Parser, whose detection only looks at the first 4 KiB and
// whose universal Feed drops the RSS <ttl>.
func parseFeed(data []byte) (parsedFeed, error) {
	var (
		out  parsedFeed
		err  error
		kind string
	)
	switch gofeed.DetectFeedType(bytes.NewReader(data)) {
	case gofeed.FeedTypeRSS:
		kind = "RSS"
		var f *gorss.Feed
		if f, err = (&gorss.Parser{}).Parse(bytes.NewReader(fixXMLBase(data))); err == nil {
			out.feed, err = (&gofeed.DefaultRSSTranslator{}).Translate(f)
			out.ttl = f.TTL
		}
	case gofeed.FeedTypeAtom:
		kind = "Atom"
		var f *atom.Feed
		if f, err = (&atom.Parser{}).Parse(bytes.NewReader(fixXMLBase(data))); err == nil {
			out.feed, err = (&gofeed.DefaultAtomTranslator{}).Translate(f)
		}
	case gofeed.FeedTypeJSON:
		kind = "JSON Feed"
		var normalized []byte
		if normalized, err = normalizeJSONFeed(data); err != nil {
			return parsedFeed{}, err
		}
		var f *jsonfeed.Feed
		if f, err = (&jsonfeed.Parser{}).Parse(bytes.NewReader(normalized)); err == nil {
			out.feed, err = (&gofeed.DefaultJSONTranslator{}).Translate(f)
			out.text = jsonTextFields(f)
		}
	default:
		return parsedFeed{}, sources.ErrNotFeed
	}
	if err != nil {
		return parsedFeed{}, fmt.Errorf("%w (%s): %w", sources.ErrMalformedFeed, kind, err)
	}
	if out.feed == nil {
		return parsedFeed{}, fmt.Errorf("%w (%s): no feed", sources.ErrMalformedFeed, kind)
	}
	return out, nil
}

// ttl reads an RSS <ttl>, a whole number of minutes; 0 when it is missing,
// not a number or not positive. It is capped at sources.MaxInterval.
func ttl(raw string) time.Duration {
	minutes, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || minutes <= 0 {
		return 0
	}
	return time.Duration(min(minutes, int64(sources.MaxInterval/time.Minute))) * time.Minute
}

// textFields says which of an item's fields are plain text rather than
// HTML. RSS and Atom (as gofeed gives them) are HTML; a JSON Feed's summary
// and content_text are plain text, where "<and>" is a word, not a tag.
type textFields struct {
	descriptionIsText bool
	contentIsText     bool
}

// jsonTextFields returns the textFields of f's items, in the order gofeed's
// translator keeps.
func jsonTextFields(f *jsonfeed.Feed) []textFields {
	out := make([]textFields, len(f.Items))
	for i, it := range f.Items {
		if it == nil {
			continue
		}
		out[i] = textFields{
			descriptionIsText: true,
			contentIsText:     it.ContentHTML == "" && it.ContentText != "",
		}
	}
	return out
}

// normalizeJSONFeed checks that data is a JSON Feed, not just any JSON
// object, and coerces item ids to strings, as the spec asks readers to do
// (gofeed rejects the whole feed when an id is a number).
func normalizeJSONFeed(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		if bytes.Contains(data[:min(len(data), 512)], []byte("jsonfeed.org/version")) {
			return nil, fmt.Errorf("%w (JSON Feed): %w", sources.ErrMalformedFeed, err)
		}
		return nil, sources.ErrNotFeed
	}
	version, _ := doc["version"].(string)
	if !strings.Contains(version, "jsonfeed.org/version") {
		return nil, sources.ErrNotFeed
	}
	if items, ok := doc["items"].([]any); ok {
		for _, item := range items {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			switch id := m["id"].(type) {
			case json.Number:
				m["id"] = id.String()
			case bool:
				m["id"] = fmt.Sprint(id)
			}
		}
	}
	return json.Marshal(doc)
}

// convertItem turns a gofeed item into herald's; ok is false for an item
// with nothing to send (no id, link, title, text or image).
func convertItem(fi *gofeed.Item, tf textFields, base *url.URL) (sources.Item, bool) {
	guid := strings.TrimSpace(fi.GUID)

	rawLink := strings.TrimSpace(fi.Link)
	for _, l := range fi.Links {
		if rawLink != "" {
			break
		}
		rawLink = strings.TrimSpace(l)
	}
	if rawLink == "" && httpURL(guid) != nil {
		// An RSS guid is a permalink unless it says otherwise, and even
		// when it says so, a URL is a better link than none.
		rawLink = guid
	}
	link := resolveHTTP(base, rawLink)

	content := fi.Content
	if strings.TrimSpace(content) == "" {
		content = fi.Description
	}
	summary := plain(fi.Description, tf.descriptionIsText)
	if summary == "" {
		summary = plain(fi.Content, tf.contentIsText)
	}

	it := sources.Item{
		Title:      sources.PlainTitle(fi.Title),
		Link:       link,
		Summary:    summary,
		Image:      pickImage(fi, base),
		Author:     author(fi),
		Categories: categories(fi.Categories),
	}
	if fi.PublishedParsed != nil {
		it.Published = fi.PublishedParsed.UTC()
	}
	if fi.UpdatedParsed != nil {
		it.Updated = fi.UpdatedParsed.UTC()
	}
	if guid == "" && rawLink == "" && it.Title == "" && it.Summary == "" && it.Image == "" {
		return sources.Item{}, false
	}
	keyLink := link
	if keyLink == "" {
		keyLink = rawLink
	}
	it.Key = sources.DedupeKey(guid, keyLink, fi.Title, content)
	return it, true
}

// plain returns s as one line of plain text, stripping HTML unless isText.
func plain(s string, isText bool) string {
	if isText {
		return strings.Join(strings.Fields(s), " ")
	}
	return sources.PlainText(s)
}

func author(fi *gofeed.Item) string {
	people := fi.Authors
	if len(people) == 0 && fi.Author != nil {
		people = []*gofeed.Person{fi.Author}
	}
	for _, p := range people {
		if p == nil {
			continue
		}
		if name := sources.PlainTitle(p.Name); name != "" {
			return name
		}
		if email := sources.PlainTitle(p.Email); email != "" {
			return email
		}
	}
	return ""
}

// categories cleans up tags: plain text, no blanks, no repeats, in order.
func categories(in []string) []string {
	var out []string
	for _, c := range in {
		c = sources.PlainTitle(c)
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// sortNewestFirst orders items by their published time (else updated),
// newest first. Items without either keep their feed order after the dated
// ones: there is no telling how new they are, and a feed's order is the
// best guess there is. Ties keep feed order too.
func sortNewestFirst(items []sources.Item) {
	when := func(it sources.Item) time.Time {
		if !it.Published.IsZero() {
			return it.Published
		}
		return it.Updated
	}
	slices.SortStableFunc(items, func(a, b sources.Item) int {
		ta, tb := when(a), when(b)
		switch {
		case ta.IsZero() && tb.IsZero():
			return 0
		case ta.IsZero():
			return 1
		case tb.IsZero():
			return -1
		}
		return tb.Compare(ta)
	})
}

// httpURL returns s parsed when it is an absolute http(s) URL with a host.
func httpURL(s string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return nil
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" {
		return nil
	}
	return u
}

// resolveHTTP resolves ref against base and returns it when the result is an
// http(s) URL; "" otherwise (a relative link without a base, javascript:,
// data:, mailto:…), because herald can only send web links and images.
// An absolute ref is returned as written.
func resolveHTTP(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if u.IsAbs() {
		if httpURL(ref) == nil {
			return ""
		}
		// As written, but with the scheme lowercased ("HTTPS://…").
		return strings.ToLower(u.Scheme) + ref[len(u.Scheme):]
	}
	if base == nil {
		if !strings.HasPrefix(ref, "//") {
			return ""
		}
		base = &url.URL{Scheme: "https"}
	}
	abs := base.ResolveReference(u)
	if abs.Host == "" {
		return ""
	}
	return abs.String()
}

// sniffContentType names what a body looks like, for an error message.
func sniffContentType(data []byte) string {
	ct := http.DetectContentType(data)
	mediaType, _, _ := strings.Cut(ct, ";")
	return cmp.Or(strings.TrimSpace(mediaType), ct)
}
