package campaign

// Message is channel-neutral rendered content. Text is in herald's Markdown
// subset (see package campaign/markup) with every interpolated value already
// escaped; each channel renders it to its platform's shape.
type Message struct {
	Text    string   `json:"text,omitempty"`
	Media   []Media  `json:"media,omitempty"` // none, one, or a gallery of 2–10 images
	Buttons []Button `json:"buttons,omitempty"`
	// QuickReplies are reply suggestions: Text with the reply's Callback.
	QuickReplies []Button `json:"quick_replies,omitempty"`
	// DisableLinkPreview turns off the platform's preview of the first link.
	DisableLinkPreview bool `json:"disable_link_preview,omitempty"`
}

// MediaKind is the kind of a media attachment.
type MediaKind string

const (
	Image MediaKind = "image"
	Video MediaKind = "video"
	Audio MediaKind = "audio"
	File  MediaKind = "file"
)

// Media is one attachment, by URL (or a platform file id).
type Media struct {
	Kind MediaKind `json:"kind"`
	URL  string    `json:"url"`
}

// Button is a message button: exactly one of URL or Callback is set.
type Button struct {
	Text     string `json:"text"`
	URL      string `json:"url,omitempty"`
	Callback string `json:"callback,omitempty"`
}
