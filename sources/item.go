// Package sources defines herald's content Item and the shared pieces every
// content source uses. Concrete sources live in sub-packages (sources/rss).
package sources

import "time"

// Item is one piece of content from a source, in herald's own shape. Sources
// return items newest first.
type Item struct {
	// Key is the stable dedupe key: the item's GUID/id, else its normalized
	// link, else a hash of title and content (see DedupeKey).
	Key       string    `json:"key"`
	Title     string    `json:"title"`
	Link      string    `json:"link,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	Image     string    `json:"image,omitempty"`
	Author    string    `json:"author,omitempty"`
	Published time.Time `json:"published,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	// Categories are the item's tags or categories as the source gives them.
	Categories []string `json:"categories,omitempty"`
}

// Validators are the HTTP cache validators of the last successful fetch, sent
// back on the next one as If-None-Match / If-Modified-Since.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Result is what one fetch of a source returned.
type Result struct {
	// NotModified is true when the server answered 304: Items is empty and
	// the previous validators still hold.
	NotModified bool
	Items       []Item
	Validators  Validators
	// Title is the feed's own title, when it has one.
	Title string
	// MinInterval is the shortest time the source asks to be left alone
	// before the next fetch: the larger of the HTTP Cache-Control max-age
	// and the feed's own <ttl>; 0 when it says nothing. A poller waits at
	// least this long. Sources cap it at 24h, so that a garbage value
	// cannot stop polling for ever.
	MinInterval time.Duration
}
