package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams and what they are connected to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY and OutTTY say whether stdin/stdout are terminals: prompts need
	// the first, tables, colour and progress bars the second.
	InTTY, OutTTY, ErrTTY bool
	// Getenv reads the environment (tests pass their own).
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE (for viper's env layer).
	Environ func() []string
	// Reload, when set, stands for SIGHUP: herald serve reads its campaigns
	// again on each receive (tests send on it; nil means the signal).
	Reload <-chan struct{}
}

// SystemStreams are the process's own streams.
func SystemStreams() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		Getenv: os.Getenv, Environ: os.Environ,
	}
}

// TestStreams are in-memory streams for tests, with env as the environment.
func TestStreams(stdin string, env map[string]string) (*IOStreams, *SyncBuffer, *SyncBuffer) {
	out, errOut := &SyncBuffer{}, &SyncBuffer{}
	return &IOStreams{
		In: strings.NewReader(stdin), Out: out, ErrOut: errOut,
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var kv []string
			for k, v := range env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
	}, out, errOut
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: herald serve writes
// from its handlers while a test reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
