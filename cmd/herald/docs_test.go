package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// The files in configs/deploy are copied by hand into other repositories and
// onto servers, and docs/ci-and-deploy.md shows them. These tests keep both
// true to herald: the doc shows each file exactly, the workflow is valid YAML,
// and every herald command they run exists with the flags they pass.

const (
	deployDir   = "../../configs/deploy"
	deployDoc   = "../../docs/ci-and-deploy.md"
	workflowYML = "github-actions.yml"
	serviceUnit = "herald.service"
)

// deployLanguages is the code block language the doc shows each kind of
// deploy file in.
var deployLanguages = map[string]string{
	".yml":     "yaml",
	".service": "ini",
	".example": "sh",
}

func TestDocsShowDeployFilesExactly(t *testing.T) {
	t.Parallel()
	blocks, _ := docBlocks(t, readFile(t, deployDoc))
	entries, err := os.ReadDir(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("%s is empty", deployDir)
	}
	shown := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		shown[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lang, ok := deployLanguages[filepath.Ext(name)]
			if !ok {
				t.Fatalf("configs/deploy/%s: add the language the doc shows %s files in to deployLanguages", name, filepath.Ext(name))
			}
			var b *docBlock
			for i := range blocks {
				if blocks[i].marker == "configs/deploy/"+name {
					b = &blocks[i]
				}
			}
			if b == nil {
				t.Fatalf("docs/ci-and-deploy.md does not show configs/deploy/%s: put <!-- configs/deploy/%s --> on the line before a ```%s block with its content", name, name, lang)
			}
			if b.lang != lang {
				t.Errorf("docs/ci-and-deploy.md:%d: configs/deploy/%s is shown in a ```%s block, want ```%s", b.line, name, b.lang, lang)
			}
			if file := readFile(t, filepath.Join(deployDir, name)); b.text != file {
				t.Errorf("docs/ci-and-deploy.md:%d: the block differs from configs/deploy/%s (copy the file into the doc): %s", b.line, name, firstDifference(b.text, file))
			}
		})
	}
	for _, b := range blocks {
		if b.marker == "" {
			continue
		}
		if name, ok := strings.CutPrefix(b.marker, "configs/deploy/"); !ok || !shown[name] {
			t.Errorf("docs/ci-and-deploy.md:%d: <!-- %s --> names no file in configs/deploy", b.line, b.marker)
		}
	}
}

// ghWorkflow is the part of a GitHub Actions workflow that herald's example
// uses. Decoding is strict, so a misspelt key fails here rather than in
// GitHub; a key the example starts using is added here.
type ghWorkflow struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]ghJob  `yaml:"jobs"`
}

type ghJob struct {
	Name           string            `yaml:"name"`
	If             string            `yaml:"if"`
	RunsOn         any               `yaml:"runs-on"`
	Needs          any               `yaml:"needs"`
	Environment    any               `yaml:"environment"`
	Permissions    map[string]string `yaml:"permissions"`
	TimeoutMinutes int               `yaml:"timeout-minutes"`
	Concurrency    *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Env   map[string]string `yaml:"env"`
	Steps []ghStep          `yaml:"steps"`
}

type ghStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	With  map[string]any    `yaml:"with"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
}

func TestDocsWorkflowRunsRealHeraldCommands(t *testing.T) {
	t.Parallel()
	var wf ghWorkflow
	dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, filepath.Join(deployDir, workflowYML)))))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("configs/deploy/%s: %v", workflowYML, err)
	}
	for _, event := range []string{"pull_request", "push"} {
		if _, ok := wf.On[event]; !ok {
			t.Errorf("configs/deploy/%s: no %q trigger: the doc says it lints pull requests and sends pushes to main", workflowYML, event)
		}
	}
	module := modulePath(t)
	var invocations, keyedSends int
	for jobName, job := range wf.Jobs {
		if len(job.Steps) == 0 {
			t.Errorf("job %s has no steps", jobName)
		}
		for i, step := range job.Steps {
			where := fmt.Sprintf("job %s, step %d (%s)", jobName, i+1, cmpOr(step.Name, step.Uses))
			for _, cmd := range shellCommands(step.Run) {
				c, ok := checkCommand(t, where, module, cmd)
				if ok {
					invocations++
				}
				if c != nil && c.CommandPath() == "herald campaign send" && slices.ContainsFunc(cmd.words, func(w string) bool {
					return w == "--idempotency-key" || strings.HasPrefix(w, "--idempotency-key=")
				}) {
					keyedSends++
				}
			}
		}
	}
	if invocations == 0 {
		t.Errorf("configs/deploy/%s runs no herald command: is the workflow still parsed right?", workflowYML)
	}
	if keyedSends == 0 {
		t.Errorf("configs/deploy/%s sends no campaign with --idempotency-key: a re-run job would broadcast again", workflowYML)
	}
}

func TestDocsServiceRunsRealHeraldCommand(t *testing.T) {
	t.Parallel()
	var execs int
	for n, line := range strings.Split(readFile(t, filepath.Join(deployDir, serviceUnit)), "\n") {
		v, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok {
			continue
		}
		execs++
		for _, cmd := range shellCommands(v) {
			if path.Base(cmd.words[0]) != "herald" {
				t.Errorf("configs/deploy/%s:%d: ExecStart runs %s, not herald", serviceUnit, n+1, cmd.words[0])
				continue
			}
			checkHeraldArgs(t, fmt.Sprintf("configs/deploy/%s:%d", serviceUnit, n+1), cmd)
		}
	}
	if execs != 1 {
		t.Errorf("configs/deploy/%s has %d ExecStart= lines, want 1", serviceUnit, execs)
	}
}

// TestDocsProseRunsRealHeraldCommands checks the herald commands the doc
// shows outside the deploy files: in its shell blocks, and in inline code
// that starts with "herald SUBCOMMAND".
func TestDocsProseRunsRealHeraldCommands(t *testing.T) {
	t.Parallel()
	module := modulePath(t)
	blocks, prose := docBlocks(t, readFile(t, deployDoc))
	var invocations int
	for _, b := range blocks {
		if b.marker != "" || (b.lang != "sh" && b.lang != "bash") {
			continue
		}
		for n, line := range strings.Split(b.text, "\n") {
			for _, cmd := range shellCommands(line) {
				if _, ok := checkCommand(t, fmt.Sprintf("docs/ci-and-deploy.md:%d", b.line+1+n), module, cmd); ok {
					invocations++
				}
			}
		}
	}
	for n, line := range prose {
		for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
			if !inlineHerald.MatchString(m[1]) && !strings.HasPrefix(m[1], "go install ") {
				continue // herald's output, or a word
			}
			for _, cmd := range shellCommands(m[1]) {
				if _, ok := checkCommand(t, fmt.Sprintf("docs/ci-and-deploy.md:%d", n+1), module, cmd); ok {
					invocations++
				}
			}
		}
	}
	if invocations == 0 {
		t.Error("docs/ci-and-deploy.md shows no herald command: is it still parsed right?")
	}
}

var (
	inlineCode = regexp.MustCompile("`([^`]+)`")
	// inlineHerald is inline code that is a herald command line, not
	// output such as "herald serve: listening on …".
	inlineHerald = regexp.MustCompile(`^herald [a-z][a-z-]*( |$)`)
)

// checkCommand checks cmd when it runs herald, or go install of herald. It
// returns the herald command found, and whether cmd runs herald.
func checkCommand(t *testing.T, where, module string, cmd shellCommand) (*cobra.Command, bool) {
	t.Helper()
	switch {
	case path.Base(cmd.words[0]) == "herald":
		return checkHeraldArgs(t, where, cmd), true
	case len(cmd.words) > 2 && cmd.words[0] == "go" && cmd.words[1] == "install":
		checkGoInstall(t, where, module, cmd)
	}
	return nil, false
}

// TestDocsNameRealEnvironmentVariables checks every HERALD_ variable the doc
// and the deploy files name against the ones herald reads.
func TestDocsNameRealEnvironmentVariables(t *testing.T) {
	t.Parallel()
	known := map[string]bool{"HERALD_WORKSPACE": true, leaseTTLEnv: true}
	for _, key := range configKeys(reflect.TypeFor[Config](), "") {
		known["HERALD_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = true
	}
	files := []string{deployDoc}
	entries, err := os.ReadDir(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files = append(files, filepath.Join(deployDir, e.Name()))
	}
	envName := regexp.MustCompile(`\bHERALD_[A-Z0-9_]*[A-Z0-9]`)
	for _, f := range files {
		for n, line := range strings.Split(readFile(t, f), "\n") {
			for _, name := range envName.FindAllString(line, -1) {
				if !known[name] {
					t.Errorf("%s:%d: herald reads no environment variable %s", strings.TrimPrefix(f, "../../"), n+1, name)
				}
			}
		}
	}
}

// checkHeraldArgs finds the command cmd runs in herald's command tree and
// checks its flags and arguments as cobra would, without running it. It
// returns the command, or nil when there is none.
func checkHeraldArgs(t *testing.T, where string, cmd shellCommand) *cobra.Command {
	t.Helper()
	io, _, _ := TestStreams("", nil)
	root := newRootCmd(io)
	// cobra adds --help and --version when it executes; add them as it would.
	root.InitDefaultVersionFlag()
	var initHelp func(*cobra.Command)
	initHelp = func(c *cobra.Command) {
		c.InitDefaultHelpFlag() // also merges the parents' persistent flags
		for _, sub := range c.Commands() {
			initHelp(sub)
		}
	}
	initHelp(root)

	c, rest, err := root.Find(cmd.words[1:])
	if err != nil {
		t.Errorf("%s: %s: %v", where, cmd.line, err)
		return nil
	}
	var positional []string
	asksInfo := false // --help and --version run no command
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		switch {
		case arg == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(arg, "--"):
			name, _, withValue := strings.Cut(arg[2:], "=")
			f := c.Flags().Lookup(name)
			if f == nil {
				t.Errorf("%s: %s: %s has no flag --%s", where, cmd.line, c.CommandPath(), name)
				continue
			}
			asksInfo = asksInfo || name == "help" || name == "version"
			if !withValue && f.NoOptDefVal == "" {
				i++ // the next word is its value
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			f := c.Flags().ShorthandLookup(arg[1:2])
			if f == nil {
				t.Errorf("%s: %s: %s has no flag -%s", where, cmd.line, c.CommandPath(), arg[1:2])
				continue
			}
			asksInfo = asksInfo || f.Name == "help" || f.Name == "version"
			if len(arg) == 2 && f.NoOptDefVal == "" {
				i++
			}
		default:
			positional = append(positional, arg)
		}
	}
	if c.HasSubCommands() && len(positional) == 0 && !asksInfo {
		t.Errorf("%s: %s: %s only groups commands (it would print its help and exit 0)", where, cmd.line, c.CommandPath())
		return nil
	}
	if err := c.ValidateArgs(positional); err != nil {
		t.Errorf("%s: %s: %v", where, cmd.line, err)
		return nil
	}
	return c
}

// checkGoInstall checks that a go install of herald names its main package.
func checkGoInstall(t *testing.T, where, module string, cmd shellCommand) {
	t.Helper()
	for _, w := range cmd.words[2:] {
		pkg, version, ok := strings.Cut(w, "@")
		if !ok || !strings.Contains(pkg, "herald") {
			continue
		}
		rel, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			t.Errorf("%s: %s: %s is not in herald's module %s", where, cmd.line, pkg, module)
			continue
		}
		if version == "" {
			t.Errorf("%s: %s: no version after @", where, cmd.line)
		}
		if src, err := os.ReadFile(filepath.Join("../..", filepath.FromSlash(rel), "main.go")); err != nil || !bytes.Contains(src, []byte("\npackage main\n")) {
			t.Errorf("%s: %s: %s is not herald's main package", where, cmd.line, pkg)
		}
	}
}

// modulePath is herald's module path, from go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	for line := range strings.Lines(readFile(t, "../../go.mod")) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// A docBlock is a fenced code block of the doc. A marker comment on the line
// before it (<!-- configs/deploy/NAME -->) says it shows that file.
type docBlock struct {
	marker string
	lang   string
	text   string
	line   int // of the opening fence
}

var blockMarker = regexp.MustCompile(`^<!--\s*(\S+)\s*-->$`)

// docBlocks returns the doc's fenced code blocks, and its prose: the lines
// outside them, blanked inside blocks so that line numbers stay right.
func docBlocks(t *testing.T, doc string) (blocks []docBlock, prose []string) {
	t.Helper()
	lines := strings.Split(doc, "\n")
	prose = make([]string, len(lines))
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			prose[i] = lines[i]
			continue
		}
		b := docBlock{lang: strings.TrimPrefix(lines[i], "```"), line: i + 1}
		if i > 0 {
			if m := blockMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				b.marker = m[1]
			}
		}
		var text strings.Builder
		closed := false
		for i++; i < len(lines); i++ {
			if lines[i] == "```" {
				closed = true
				break
			}
			text.WriteString(lines[i] + "\n")
		}
		if !closed {
			t.Errorf("docs/ci-and-deploy.md:%d: the block is not closed", b.line)
		}
		b.text = text.String()
		blocks = append(blocks, b)
	}
	for i, line := range prose {
		if m := blockMarker.FindStringSubmatch(strings.TrimSpace(line)); m != nil && (i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```")) {
			t.Errorf("docs/ci-and-deploy.md:%d: <!-- %s --> must be followed by a code block", i+1, m[1])
		}
	}
	return blocks, prose
}

// firstDifference describes where a and b first differ, by line.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return fmt.Sprintf("line %d of the file: the doc has %q, the file %q", i+1, x, y)
		}
	}
	return "they differ"
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ---- reading shell scripts, as far as the deploy files need ----

// A shellCommand is one simple command of a script: its words with quotes
// removed and leading VAR=value assignments dropped, and its line.
type shellCommand struct {
	words []string
	line  string
}

// shellCommands splits a script into its simple commands: at newlines, |,
// ||, &&, ;, &, parentheses and $( ), after joining \-continued lines and
// dropping comments. A redirection ends a command's words. Shell keywords
// (if, then, do, …) before a command are skipped, so "if herald lint; then"
// yields "herald lint". Quotes are honoured, not expanded: "$GITHUB_SHA" is
// the word $GITHUB_SHA, which is all a flag check needs.
func shellCommands(script string) []shellCommand {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []shellCommand
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		line := sc.Text()
		var words []string
		var cur strings.Builder
		inWord, redirected := false, false
		end := func() {
			if inWord && !redirected {
				words = append(words, cur.String())
			}
			cur.Reset()
			inWord = false
		}
		endCommand := func() {
			end()
			for len(words) > 0 && (shellKeywords[words[0]] || isAssignment(words[0])) {
				words = words[1:]
			}
			if len(words) > 0 {
				out = append(out, shellCommand{words: words, line: strings.TrimSpace(line)})
			}
			words, redirected = nil, false
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == '\\' && i+1 < len(line):
				i++
				cur.WriteByte(line[i])
				inWord = true
			case c == '\'':
				j := strings.IndexByte(line[i+1:], '\'')
				if j < 0 {
					j = len(line) - i - 1
				}
				cur.WriteString(line[i+1 : i+1+j])
				i += j + 1
				inWord = true
			case c == '"':
				for i++; i < len(line) && line[i] != '"'; i++ {
					if line[i] == '\\' && i+1 < len(line) {
						i++
					}
					cur.WriteByte(line[i])
				}
				inWord = true
			case c == '#' && !inWord:
				i = len(line) // a comment
			case c == ' ' || c == '\t':
				end()
			case c == '$' && i+1 < len(line) && line[i+1] == '(':
				endCommand()
				i++
			case c == '>' || c == '<':
				// A redirection: its target (and an fd number before it,
				// as in 2>) is no word of the command.
				if inWord && strings.Trim(cur.String(), "0123456789") == "" {
					cur.Reset()
					inWord = false
				}
				end()
				redirected = true
				for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&') {
					i++
				}
			case strings.IndexByte("|&;()", c) >= 0:
				endCommand()
			default:
				cur.WriteByte(c)
				inWord = true
			}
		}
		endCommand()
	}
	return out
}

var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "while": true,
	"until": true, "do": true, "done": true, "!": true, "{": true, "}": true, "time": true,
	"exec": true, "esac": true,
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignment(w string) bool { return assignment.MatchString(w) }
