package main

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/internal/strictyaml"
)

// AutomationsConfig is herald.yaml's automations: the messages herald
// sends by itself when someone starts, stops or writes.
type AutomationsConfig struct {
	Welcome      AutomationConfig `yaml:"welcome"`
	Goodbye      AutomationConfig `yaml:"goodbye"`
	DefaultReply AutomationConfig `yaml:"default_reply"`
	// StopKeywords unsubscribe whoever sends one of them as their whole
	// message, in any case (STOP and UNSUBSCRIBE always do).
	StopKeywords []string `yaml:"stop_keywords"`
	// Greeting is Messenger's greeting, shown to people before they start a
	// conversation with the Page (herald channels setup messenger).
	Greeting string `yaml:"greeting"`
}

// AutomationConfig is one automatic message.
type AutomationConfig struct {
	// Enabled defaults to true when a message is given.
	Enabled *bool `yaml:"enabled"`
	// Every is the least time between two default replies to one person
	// (default_reply only; default 24h).
	Every   time.Duration         `yaml:"every"`
	Message *campaign.MessageSpec `yaml:"message"`
}

// DefaultReplyEvery is how often at most one person gets the default reply.
const DefaultReplyEvery = 24 * time.Hour

// maxGreeting is Messenger's limit on the greeting text.
const maxGreeting = 160

// replies compiles the workspace's automations. Every problem is reported
// with herald.yaml's line.
func (a *app) replies() (lifecycle.Replies, error) {
	cfg := a.ws.Config.Automations
	var es strictyaml.Errors
	var out lifecycle.Replies
	compile := func(key string, ac AutomationConfig) *campaign.Reply {
		path := "automations." + key
		if ac.Enabled != nil && !*ac.Enabled {
			return nil
		}
		if ac.Message == nil {
			if ac.Enabled != nil {
				es.Add(a.ws.File, a.ws.line(path), "%s is enabled but has no message: add message: {text: …}", path)
			}
			return nil
		}
		node := strictyaml.Lookup(a.ws.root, path)
		r, err := campaign.NewReply(a.ws.File, path, node, *ac.Message, knownChannels)
		if err != nil {
			es = append(es, asYAMLErrors(a.ws.File, a.ws.line(path), err)...)
			return nil
		}
		return r
	}
	out.Welcome = compile("welcome", cfg.Welcome)
	out.Goodbye = compile("goodbye", cfg.Goodbye)
	out.Default = compile("default_reply", cfg.DefaultReply)
	if cfg.Welcome.Every != 0 || cfg.Goodbye.Every != 0 {
		es.Add(a.ws.File, a.ws.line("automations"), "every: applies to automations.default_reply only")
	}
	out.DefaultEvery = cfg.DefaultReply.Every
	switch {
	case out.DefaultEvery == 0:
		out.DefaultEvery = DefaultReplyEvery
	case out.DefaultEvery < time.Minute:
		es.Add(a.ws.File, a.ws.line("automations.default_reply.every"),
			"automations.default_reply.every %s: use at least 1m (e.g. 24h): a person writing several messages gets one default reply", out.DefaultEvery)
	}
	for i, k := range cfg.StopKeywords {
		if strings.TrimSpace(k) == "" {
			es.Add(a.ws.File, a.ws.line(fmt.Sprintf("automations.stop_keywords.%d", i)), "automations.stop_keywords: an empty keyword would unsubscribe anyone who sends an empty message")
		}
	}
	out.StopKeywords = cfg.StopKeywords
	if n := utf8.RuneCountInString(cfg.Greeting); n > maxGreeting {
		es.Add(a.ws.File, a.ws.line("automations.greeting"), "automations.greeting is %d characters; Messenger allows %d", n, maxGreeting)
	}
	if len(es) > 0 {
		return out, es
	}
	return out, nil
}

// line is the line of a dotted key in herald.yaml, or 0.
func (w *Workspace) line(path string) int {
	if n := strictyaml.Lookup(w.root, path); n != nil {
		return n.Line
	}
	return 0
}

// asYAMLErrors flattens a campaign error into file:line errors.
func asYAMLErrors(file string, line int, err error) strictyaml.Errors {
	var se campaign.SpecErrors
	if errors.As(err, &se) {
		return strictyaml.Errors(se)
	}
	return strictyaml.Errors{{File: file, Line: line, Msg: err.Error()}}
}
