package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/internal/strictyaml"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitUnexpected  = 1
	exitInvalid     = 2 // bad input: nothing was sent
	exitRunFailed   = 3 // aborted, paused, or failures above --max-failure-rate
	exitInterrupted = 130
)

// exitError carries an exit code; its message (if any) is printed as is.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// invalid marks err as bad input (exit 2).
func invalid(err error) error { return &exitError{code: exitInvalid, err: err} }

func invalidf(format string, args ...any) error { return invalid(fmt.Errorf(format, args...)) }

// silentExit ends the command with code after it printed its own output.
func silentExit(code int) error { return &exitError{code: code} }

// Main runs herald with args and returns the exit code.
func Main(args []string, io *IOStreams) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(io.ErrOut, "\nstopping: finishing the messages in flight (press Ctrl-C again to quit at once)")
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(io.ErrOut, "quit: messages in flight will be recorded as unknown on the next resume")
			os.Exit(exitInterrupted)
		}
	}()
	return run(ctx, args, io)
}

func run(ctx context.Context, args []string, io *IOStreams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(io.ErrOut, "herald: "+strings.ReplaceAll(msg, "\n", "\n  "))
	}
	var fe *flagError
	if errors.As(err, &fe) && cmd != nil {
		fmt.Fprintf(io.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// flagError is a usage mistake: only these print the usage hint.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	var se strictyaml.Errors
	var fe *flagError
	var rowErrs importErrors
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &fe), errors.As(err, &se), errors.As(err, &rowErrs),
		errors.Is(err, campaign.ErrInvalidSpec), errors.Is(err, telegram.ErrConfig), errors.Is(err, messenger.ErrConfig),
		errors.Is(err, errConfig), errors.Is(err, audience.ErrNoSubscriber):
		return exitInvalid
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case misconfiguredSource(err):
		return exitInvalid
	}
	return exitUnexpected
}

// misconfiguredSource reports whether a campaign's source failed because the
// campaign names the wrong thing — a page that is not a feed, a 4xx, a file
// that does not exist — rather than because of a passing fault (timeouts,
// 5xx, 429), which stay unexpected (exit 1) so a retry may succeed.
func misconfiguredSource(err error) bool {
	var se *campaign.SourceError
	if !errors.As(err, &se) {
		return false
	}
	var fe *sources.FetchError
	var pe *catalog.ProductError
	var fme *catalog.FormatError
	var ce *catalog.ConfigError
	switch {
	case errors.Is(err, sources.ErrNotFeed), errors.Is(err, sources.ErrMalformedFeed), errors.Is(err, fs.ErrNotExist):
		return true
	case errors.As(err, &pe), errors.As(err, &fme), errors.As(err, &ce):
		return true // a catalog herald cannot read: the shop's data or the campaign's mapping
	case errors.As(err, &fe):
		return fe.Status >= 400 && fe.Status < 500 && fe.Status != http.StatusTooManyRequests
	}
	return false
}

// usageFlags makes cobra's own argument and flag errors flagErrors.
func usageFlags(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
}

// args wraps a cobra argument validator so its errors are flagErrors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return &flagError{err}
		}
		return nil
	}
}
