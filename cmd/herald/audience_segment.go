package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
)

// liveStatuses are every status but the forgotten tombstone: what an
// audience command selects when no --status is given. A tombstone is not
// a subscriber; only list shows them, and only when asked.
var liveStatuses = []audience.Status{audience.Subscribed, audience.Unsubscribed, audience.Blocked, audience.Invalid}

// segmentFlags are the flags that select subscribers, one set of code for
// every audience command that works on many of them.
type segmentFlags struct {
	seg       audience.Segment
	channels  []string
	statuses  []string
	addresses []string
}

// register adds the segment flags to cmd; withAddress adds --address too.
func (s *segmentFlags) register(cmd *cobra.Command, withAddress bool) {
	f := cmd.Flags()
	f.StringSliceVar(&s.seg.TagsAny, "tags-any", nil, "with at least one of these tags")
	f.StringSliceVar(&s.seg.TagsAll, "tags-all", nil, "with all of these tags")
	f.StringSliceVar(&s.seg.TagsNone, "tags-none", nil, "with none of these tags")
	f.StringSliceVar(&s.seg.Locales, "locale", nil, "with one of these locales")
	f.StringSliceVar(&s.channels, "channel", nil, "on one of these channels: "+strings.Join(knownChannels, ", "))
	f.StringSliceVar(&s.statuses, "status", nil, "in one of these statuses: subscribed, unsubscribed, blocked, invalid")
	if withAddress {
		f.StringSliceVar(&s.addresses, "address", nil, "this address: a Telegram chat id or Messenger PSID (repeatable)")
	}
}

// selects reports whether any selector was given.
func (s *segmentFlags) selects() bool {
	g := s.seg
	return len(g.TagsAny)+len(g.TagsAll)+len(g.TagsNone)+len(g.Locales)+len(s.channels)+len(s.statuses)+len(s.addresses) > 0
}

// filter validates the flags and turns them into a store filter. Without
// --status it selects defaults (liveStatuses when nil). allowForgotten
// accepts --status forgotten (list only).
func (s *segmentFlags) filter(defaults []audience.Status, allowForgotten bool) (audience.Filter, error) {
	f := audience.Filter{Segment: s.seg}
	for _, c := range s.channels {
		if err := checkChannel(c); err != nil {
			return f, err
		}
		f.Channels = append(f.Channels, c)
	}
	for _, v := range s.statuses {
		st := audience.Status(v)
		if !st.Valid() || (st == audience.Forgotten && !allowForgotten) {
			allowed := "subscribed, unsubscribed, blocked or invalid"
			if allowForgotten {
				allowed = "subscribed, unsubscribed, blocked, invalid or forgotten"
			}
			return f, &flagError{fmt.Errorf("--status %q: use %s", v, allowed)}
		}
		f.Statuses = append(f.Statuses, st)
	}
	if len(f.Statuses) == 0 {
		f.Statuses = defaults
		if f.Statuses == nil {
			f.Statuses = liveStatuses
		}
	}
	for _, a := range s.addresses {
		if a = strings.TrimSpace(a); a == "" {
			return f, &flagError{fmt.Errorf("--address: an address cannot be empty")}
		}
		f.Addresses = append(f.Addresses, a)
	}
	return f, nil
}

// describe names the selection in words, for a confirmation prompt.
func (s *segmentFlags) describe() string {
	var parts []string
	add := func(flag string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, "--"+flag+" "+strings.Join(vals, ","))
		}
	}
	add("tags-any", s.seg.TagsAny)
	add("tags-all", s.seg.TagsAll)
	add("tags-none", s.seg.TagsNone)
	add("locale", s.seg.Locales)
	add("channel", s.channels)
	add("status", s.statuses)
	add("address", s.addresses)
	if len(parts) == 0 {
		return "everyone"
	}
	return strings.Join(parts, " ")
}

// checkChannel refuses a channel herald does not know (exit 2); "" (any
// channel) passes.
func checkChannel(c string) error {
	if c != "" && !slices.Contains(knownChannels, c) {
		return &flagError{fmt.Errorf("--channel %q: use %s", c, strings.Join(knownChannels, " or "))}
	}
	return nil
}

// checkTag refuses a tag that could not be told apart from others in the
// CSV import (tags separated by ;) or on the command line (by ,).
func checkTag(flag, t string) error {
	if t == "" || strings.ContainsAny(t, ",;") || strings.ContainsFunc(t, unicode.IsSpace) {
		return invalidf("%s %q: a tag cannot be empty or contain spaces, commas or semicolons", flag, t)
	}
	return nil
}

// subscriberLister is the part of the store that finds subscribers.
type subscriberLister interface {
	Subscribers(ctx context.Context, f audience.Filter, fn func(audience.Subscriber) error) error
}

// checkAddresses refuses (exit 2) an explicit --address that is no
// subscriber of f's channels, before anything is changed.
func checkAddresses(ctx context.Context, st subscriberLister, f audience.Filter) (found int, err error) {
	if len(f.Addresses) == 0 {
		return 0, nil
	}
	seen := map[string]bool{}
	err = st.Subscribers(ctx, audience.Filter{Channels: f.Channels, Statuses: liveStatuses, Addresses: f.Addresses},
		func(s audience.Subscriber) error {
			seen[s.Address] = true
			return nil
		})
	if err != nil {
		return 0, err
	}
	var missing []string
	for _, a := range f.Addresses {
		if !seen[a] && !slices.Contains(missing, a) {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		where := ""
		if len(f.Channels) > 0 {
			where = " on " + strings.Join(f.Channels, " or ")
		}
		return 0, invalidf("no subscriber %s%s (see herald audience list): nothing was changed", strings.Join(missing, ", "), where)
	}
	return len(seen), nil
}

// findSubscriber returns the one subscriber with address (on channel, when
// not ""). None, or one on several channels without --channel, is bad
// input (exit 2) with what to do.
func findSubscriber(ctx context.Context, st subscriberLister, channel, address string) (audience.Subscriber, error) {
	f := audience.Filter{Addresses: []string{address}, Statuses: liveStatuses}
	if err := checkChannel(channel); err != nil {
		return audience.Subscriber{}, err
	}
	if channel != "" {
		f.Channels = []string{channel}
	}
	var found []audience.Subscriber
	err := st.Subscribers(ctx, f, func(s audience.Subscriber) error {
		found = append(found, s)
		return nil
	})
	if err != nil {
		return audience.Subscriber{}, err
	}
	switch len(found) {
	case 0:
		where := ""
		if channel != "" {
			where = " on " + channel
		}
		return audience.Subscriber{}, invalidf("no subscriber %s%s (see herald audience list)", address, where)
	case 1:
		return found[0], nil
	}
	chans := make([]string, len(found))
	for i, s := range found {
		chans[i] = s.Channel
	}
	return audience.Subscriber{}, invalidf("%s is a subscriber on %s: pass --channel %s (or %s) to say which",
		address, strings.Join(chans, " and "), chans[0], strings.Join(chans[1:], ", "))
}
