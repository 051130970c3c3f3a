package campaign

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/heraldcli/herald/audience"
)

// Reply is a message herald sends by itself, in answer to one person: the
// welcome, goodbye and default reply of herald.yaml's automations. Its
// template is a campaign message: the same fields, helpers and limits,
// with .Subscriber and .Now (no items).
type Reply struct {
	spec *Spec
	c    *compiled
}

// NewReply validates and compiles a reply. root is the YAML node of the
// automation in file (a mapping whose message: key holds m), so that errors
// carry the file's lines; name is how the automation is called in them.
func NewReply(file, name string, root *yaml.Node, m MessageSpec, channels []string) (*Reply, error) {
	spec := &Spec{Name: name, File: file, Channels: channels, Mode: Static, Message: m, root: root}
	errs := &errList{file: file}
	spec.validate(channels, errs)
	if len(errs.list) > 0 {
		return nil, errs.list
	}
	c, err := compileMessage(spec)
	if err != nil {
		return nil, err
	}
	return &Reply{spec: spec, c: c}, nil
}

// Render renders the reply for sub.
func (r *Reply) Render(sub audience.Subscriber, now time.Time) (Message, error) {
	return r.c.render(r.spec, &TemplateData{
		Subscriber: SubscriberData{Name: sub.Name, Locale: sub.Locale, Timezone: sub.Timezone, Tags: sub.Tags},
		Campaign:   CampaignData{Name: r.spec.Name},
		Now:        now,
	})
}

// Lint renders the reply for a sample subscriber and checks it on every
// channel, with the file's lines.
func (r *Reply) Lint(channels map[string]Channel, now time.Time) ([]LintProblem, error) {
	m, err := r.Render(SampleSubscriber(), now)
	if err != nil {
		return nil, SpecErrors{specErr(r.spec, err)}
	}
	return LintMessage(r.spec, channels, 0, m), nil
}
