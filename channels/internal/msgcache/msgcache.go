// Package msgcache remembers what a channel made of recent messages: a
// broadcast sends one message to thousands of recipients, so a channel
// renders it once. Personal messages fill the cache and it starts over.
package msgcache

import (
	"strings"
	"sync"

	"github.com/heraldcli/herald/campaign"
)

// Size bounds how many messages a Cache remembers.
const Size = 64

// Cache maps a message's content to what a channel built from it. The zero
// Cache is ready to use and safe for concurrent use.
type Cache[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

// Get returns what build made of a message with m's content, calling build
// only when no such message is remembered. Errors are not remembered.
func (c *Cache[T]) Get(m campaign.Message, build func(campaign.Message) (T, error)) (T, error) {
	key := Key(m)
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build(m)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= Size {
		c.m = make(map[string]T, Size)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

// Key identifies a message's content.
func Key(m campaign.Message) string {
	var b strings.Builder
	b.Grow(len(m.Text) + 64)
	b.WriteString(m.Text)
	for _, md := range m.Media {
		b.WriteString("\x00m")
		b.WriteString(string(md.Kind))
		b.WriteString("\x00")
		b.WriteString(md.URL)
	}
	button := func(tag string, bt campaign.Button) {
		b.WriteString(tag)
		b.WriteString(bt.Text)
		b.WriteString("\x00")
		b.WriteString(bt.URL)
		b.WriteString("\x00")
		b.WriteString(bt.Callback)
	}
	for _, bt := range m.Buttons {
		button("\x00b", bt)
	}
	for _, q := range m.QuickReplies {
		button("\x00q", q)
	}
	for _, c := range m.Cards {
		for _, f := range [...]string{"\x00c", c.Title, "\x00", c.Subtitle, "\x00", c.Image, "\x00", c.Link} {
			b.WriteString(f)
		}
		for _, bt := range c.Buttons {
			button("\x00cb", bt)
		}
	}
	if m.CardLayout != "" {
		b.WriteString("\x00layout")
		b.WriteString(string(m.CardLayout))
	}
	if m.DisableLinkPreview {
		b.WriteString("\x00nopreview")
	}
	return b.String()
}
