package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/internal/strictyaml"
	"github.com/heraldcli/herald/store/postgres"
)

// Config is herald.yaml. Every key can be set by an environment variable
// (HERALD_ + the key in upper case with _ for .: HERALD_TELEGRAM_TOKEN).
// Precedence: flags > environment > herald.yaml > defaults.
type Config struct {
	Telegram  TelegramConfig  `yaml:"telegram" mapstructure:"telegram"`
	Messenger MessengerConfig `yaml:"messenger" mapstructure:"messenger"`
	Storage   StorageConfig   `yaml:"storage" mapstructure:"storage"`
	Serve     ServeConfig     `yaml:"serve" mapstructure:"serve"`
	// Timezone is the workspace's IANA time zone (default UTC): the zone
	// of triggers, local_time and quiet_hours that name none.
	Timezone string `yaml:"timezone" mapstructure:"timezone"`
	// FrequencyCap limits promotional messages per subscriber across
	// campaigns (max 0: no cap).
	FrequencyCap FrequencyCapConfig `yaml:"frequency_cap" mapstructure:"frequency_cap"`
	// Automations are message templates, read from herald.yaml only (not
	// from the environment).
	Automations AutomationsConfig `yaml:"automations" mapstructure:"-"`
}

// TelegramConfig configures the Telegram channel.
type TelegramConfig struct {
	Token         string        `yaml:"token" mapstructure:"token"`
	APIURL        string        `yaml:"api_url" mapstructure:"api_url"`
	Rate          float64       `yaml:"rate" mapstructure:"rate"`
	PaidBroadcast bool          `yaml:"paid_broadcast" mapstructure:"paid_broadcast"`
	Timeout       time.Duration `yaml:"timeout" mapstructure:"timeout"`
	// WebhookURL switches herald serve from long polling to a webhook:
	// the public HTTPS URL Telegram posts updates to (proxied to
	// serve.addr's /webhooks/telegram). WebhookSecret is then required.
	WebhookURL    string `yaml:"webhook_url" mapstructure:"webhook_url"`
	WebhookSecret string `yaml:"webhook_secret" mapstructure:"webhook_secret"`
}

// MessengerConfig configures the Messenger channel and its webhook.
type MessengerConfig struct {
	PageID      string  `yaml:"page_id" mapstructure:"page_id"`
	PageToken   string  `yaml:"page_token" mapstructure:"page_token"`
	AppSecret   string  `yaml:"app_secret" mapstructure:"app_secret"`
	VerifyToken string  `yaml:"verify_token" mapstructure:"verify_token"`
	APIURL      string  `yaml:"api_url" mapstructure:"api_url"`
	APIVersion  string  `yaml:"api_version" mapstructure:"api_version"`
	Rate        float64 `yaml:"rate" mapstructure:"rate"`
	MediaRate   float64 `yaml:"media_rate" mapstructure:"media_rate"`
	// AdReferralWindow is the messaging window after a click on a
	// click-to-Messenger ad (Meta: 7 days).
	AdReferralWindow time.Duration   `yaml:"ad_referral_window" mapstructure:"ad_referral_window"`
	RateLimitPause   time.Duration   `yaml:"rate_limit_pause" mapstructure:"rate_limit_pause"`
	Marketing        MarketingConfig `yaml:"marketing" mapstructure:"marketing"`
}

// MarketingConfig enables the Marketing Messages API route.
type MarketingConfig struct {
	AdAccountID string `yaml:"ad_account_id" mapstructure:"ad_account_id"`
}

// ServeConfig configures herald serve.
type ServeConfig struct {
	// Addr is where herald serve listens (default 127.0.0.1:8080: loopback;
	// put a TLS-terminating proxy in front of it for Meta's webhook).
	Addr string `yaml:"addr" mapstructure:"addr"`
}

// FrequencyCapConfig is at most Max promotional runs reaching one
// subscriber within Per, across all campaigns.
type FrequencyCapConfig struct {
	Max int           `yaml:"max" mapstructure:"max"`
	Per time.Duration `yaml:"per" mapstructure:"per"`
}

// StorageConfig says where herald keeps its state: the SQLite file at
// Path, or the PostgreSQL database at URL when it is set.
type StorageConfig struct {
	Path string `yaml:"path" mapstructure:"path"`
	URL  string `yaml:"url" mapstructure:"url"`
}

var errConfig = errors.New("configuration")

var configDefaults = map[string]any{
	"telegram.api_url":             "https://api.telegram.org",
	"telegram.rate":                30.0,
	"telegram.paid_broadcast":      false,
	"telegram.timeout":             "30s",
	"messenger.api_url":            "https://graph.facebook.com",
	"messenger.api_version":        "v25.0",
	"messenger.rate":               250.0,
	"messenger.media_rate":         10.0,
	"messenger.ad_referral_window": "168h",
	"messenger.rate_limit_pause":   "60s",
	"serve.addr":                   "127.0.0.1:8080",
	"storage.path":                 ".herald/herald.db",
	"timezone":                     "UTC",
	"frequency_cap.max":            0,
	"frequency_cap.per":            "24h",
}

// configFlags are the global flags that override configuration keys.
var configFlags = map[string]string{
	"telegram-api-url":  "telegram.api_url",
	"telegram-rate":     "telegram.rate",
	"messenger-api-url": "messenger.api_url",
	"storage-path":      "storage.path",
}

// Workspace is a folder with herald.yaml and its loaded configuration.
type Workspace struct {
	Dir    string
	Config Config
	// File is herald.yaml's path as messages show it; root its YAML, for
	// the lines of errors about automations.
	File string
	root *yaml.Node
}

// Location is the workspace's time zone (validated when it was loaded).
func (w *Workspace) Location() *time.Location {
	loc, err := time.LoadLocation(w.Config.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// cap is the campaign engine's frequency cap, nil when there is none.
func (c FrequencyCapConfig) cap() *campaign.FrequencyCap {
	if c.Max <= 0 {
		return nil
	}
	return &campaign.FrequencyCap{Max: c.Max, Per: c.Per}
}

// Path resolves p against the workspace folder.
func (w *Workspace) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(w.Dir, p)
}

// findWorkspace returns the workspace folder: --workspace, HERALD_WORKSPACE,
// or the nearest folder upward from the current one that has herald.yaml.
func findWorkspace(flag string, getenv func(string) string) (string, error) {
	dir := flag
	if dir == "" {
		dir = getenv("HERALD_WORKSPACE")
	}
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "herald.yaml")); err != nil {
			return "", fmt.Errorf("%w: %s has no herald.yaml (create a workspace with: herald init %s)", errConfig, dir, dir)
		}
		return filepath.Abs(dir)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := cwd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "herald.yaml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("%w: no herald.yaml in %s or any folder above it: run herald inside a workspace, pass --workspace, or create one with: herald init mybrand", errConfig, cwd)
}

// loadWorkspace finds the workspace and loads its configuration with viper.
func loadWorkspace(dirFlag string, flags *pflag.FlagSet, io *IOStreams) (*Workspace, error) {
	dir, err := findWorkspace(dirFlag, io.Getenv)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "herald.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	rel := relPath(file)
	// Strict first, for errors with lines; then viper for the layering.
	var strict Config
	root, err := strictyaml.Decode(rel, b, &strict, "herald.yaml")
	if err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetConfigType("yaml")
	for k, d := range configDefaults {
		v.SetDefault(k, d)
	}
	if err := v.ReadConfig(strings.NewReader(string(b))); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errConfig, rel, err)
	}
	for _, key := range configKeys(reflect.TypeFor[Config](), "") {
		env := "HERALD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if val := io.Getenv(env); val != "" {
			v.Set(key, val) // Set outranks the file; flags are applied after
		}
	}
	if flags != nil {
		for name, key := range configFlags {
			if f := flags.Lookup(name); f != nil && f.Changed {
				v.Set(key, f.Value.String())
			}
		}
	}
	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	if _, err := time.LoadLocation(cfg.Timezone); err != nil {
		return nil, fmt.Errorf("%w: timezone %q is not an IANA time zone name (e.g. Europe/Rome)", errConfig, cfg.Timezone)
	}
	if fc := cfg.FrequencyCap; fc.Max < 0 || fc.Max > 0 && fc.Per <= 0 {
		return nil, fmt.Errorf("%w: frequency_cap: max must be 0 (no cap) or more, and per a positive duration (e.g. max: 2, per: 24h)", errConfig)
	}
	if u := cfg.Storage.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return nil, fmt.Errorf("%w: storage.url %s: herald stores in PostgreSQL only (postgres://user@host:5432/db); leave it unset for the SQLite file at storage.path",
			errConfig, postgres.Redact(u))
	}
	cfg.Automations = strict.Automations
	return &Workspace{Dir: dir, Config: cfg, File: rel, root: root}, nil
}

// configKeys lists the dotted keys of a config struct.
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, configKeys(f.Type, prefix+name+".")...)
			continue
		}
		out = append(out, prefix+name)
	}
	return out
}

// relPath shortens p relative to the current folder for messages.
func relPath(p string) string {
	if cwd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}
