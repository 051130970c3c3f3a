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
	// Cards are product cards, one per item, shown after Text: a carousel
	// on Messenger; on Telegram a photo per card with its caption and
	// buttons, or, with CardLayout CardsAlbum, one album and a linked list.
	// A message with cards has no Media or Buttons of its own.
	Cards      []Card     `json:"cards,omitempty"`
	CardLayout CardLayout `json:"card_layout,omitempty"`
}

// Card is one product card.
type Card struct {
	// Title is plain text (the product's name); Subtitle plain text under
	// it (the price line).
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	// Image is the card's picture by URL; a card may have none.
	Image string `json:"image,omitempty"`
	// Link is where tapping the card goes (the product page).
	Link    string   `json:"link,omitempty"`
	Buttons []Button `json:"buttons,omitempty"` // at most 3
}

// CardLayout says how Telegram shows cards, which it has no widget for.
type CardLayout string

const (
	// CardsEach (the default) sends one photo per card, captioned with its
	// title and subtitle, with the card's buttons under it.
	CardsEach CardLayout = "each"
	// CardsAlbum sends the cards' images as one album, then one text
	// message listing the cards with their links.
	CardsAlbum CardLayout = "album"
)

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
