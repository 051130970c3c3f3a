package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml := "telegram:\n  api_url: http://from-file\n  rate: 10\nstorage:\n  path: file.db\n"
	if err := os.WriteFile(filepath.Join(dir, "herald.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := func(args ...string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		fs.String("telegram-api-url", "", "")
		fs.Float64("telegram-rate", 0, "")
		fs.String("storage-path", "", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	cases := []struct {
		name        string
		env         map[string]string
		args        []string
		url, path   string
		rate        float64
		token, zone string
		paid        bool
	}{
		{"file over defaults", nil, nil, "http://from-file", "file.db", 10, "", "UTC", false},
		{"env over file", map[string]string{"HERALD_TELEGRAM_API_URL": "http://from-env", "HERALD_TELEGRAM_RATE": "20",
			"HERALD_TELEGRAM_TOKEN": "1:env", "HERALD_TIMEZONE": "Europe/Rome", "HERALD_TELEGRAM_PAID_BROADCAST": "true"},
			nil, "http://from-env", "file.db", 20, "1:env", "Europe/Rome", true},
		{"flags over env", map[string]string{"HERALD_TELEGRAM_API_URL": "http://from-env", "HERALD_STORAGE_PATH": "env.db"},
			[]string{"--telegram-api-url", "http://from-flag", "--storage-path", "flag.db", "--telegram-rate", "5"},
			"http://from-flag", "flag.db", 5, "", "UTC", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			io, _, _ := TestStreams("", tc.env)
			ws, err := loadWorkspace(dir, flags(tc.args...), io)
			if err != nil {
				t.Fatal(err)
			}
			c := ws.Config
			if c.Telegram.APIURL != tc.url || c.Storage.Path != tc.path || c.Telegram.Rate != tc.rate ||
				c.Telegram.Token != tc.token || c.Timezone != tc.zone || c.Telegram.PaidBroadcast != tc.paid {
				t.Fatalf("config %+v", c)
			}
			if c.Telegram.Timeout.String() != "30s" {
				t.Fatalf("default timeout %s", c.Telegram.Timeout)
			}
		})
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":  {"telegram:\n  rate: 10\n  tokn: x\n", `herald.yaml:3: unknown key "tokn" in telegram`},
		"wrong type":   {"telegram:\n  rate: fast\n", "herald.yaml:2:"},
		"bad timezone": {"timezone: Mars/Olympus\n", `timezone "Mars/Olympus"`},
		"not postgres": {"storage:\n  url: mysql://herald:pw@db/herald\n", "storage.url mysql://herald:xxxxx@db/herald: herald stores in PostgreSQL only"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "herald.yaml"), []byte(tc.yaml), 0o644)
			io, _, _ := TestStreams("", nil)
			_, err := loadWorkspace(dir, nil, io)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if exitCode(err) != exitInvalid {
				t.Fatalf("exit code %d for %v, want 2", exitCode(err), err)
			}
		})
	}
}
