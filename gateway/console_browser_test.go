// The agents' console in a real browser (headless Chromium, driven with
// chromedp) against a real App with the fake Graph API: a wrong password,
// sign-in, a user appearing live in Waiting, claim, reply, the user's
// answer, a note, an upload, a label, a supervisor's assignment, sign-out,
// the keyboard, canned responses and a transfer.
// Controls are found by role and accessible name, as assistive technology
// finds them; any console error (a Content Security Policy or Trusted Types
// violation included) fails the test.
//
// Chromium is looked up as chromium (or $SWITCHBOARD_CHROMIUM). Without it
// the tests fail when CI=true or SWITCHBOARD_BROWSER=required, and skip
// otherwise. SWITCHBOARD_SCREENSHOTS=1 writes the README's screenshots to
// docs/screenshots/.

package gateway

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"switchboard/routing"
)

// chromium finds the browser, or ends the test without one.
func chromium(t testing.TB) string {
	t.Helper()
	name := os.Getenv("SWITCHBOARD_CHROMIUM")
	if name == "" {
		name = "chromium"
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" || os.Getenv("SWITCHBOARD_BROWSER") == "required" {
		t.Fatalf("the browser tests need %s: %v", name, err)
	}
	t.Skipf("no %s: the console's browser tests need it (set SWITCHBOARD_BROWSER=required to fail instead)", name)
	return ""
}

// browser is one headless tab, the errors its console reported and the
// URLs it requested.
type browser struct {
	t    testing.TB
	ctx  context.Context
	mu   sync.Mutex
	errs []string
	urls []string
}

func newBrowser(t testing.TB, width, height int64) *browser {
	// chromedp starts it headless with a fresh user-data-dir of its own,
	// without background networking, sync or first-run pages.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-component-update", true), chromedp.Flag("lang", "en-US"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.urls = append(b.urls, e.Request.URL)
		case *runtime.EventExceptionThrown:
			b.errs = append(b.errs, fmt.Sprintf("exception: %s %v", e.ExceptionDetails.Text, e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.errs = append(b.errs, "console: "+strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				b.errs = append(b.errs, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// onlyOrigin fails the test unless every request the page made went to
// origin (data: and blob: URLs stay in the page).
func (b *browser) onlyOrigin(origin string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.urls) == 0 {
		b.t.Fatal("no request recorded")
	}
	for _, u := range b.urls {
		if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			b.t.Errorf("the console contacted another origin: %s", u)
		}
	}
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		_, file, line, _ := goruntime.Caller(1)
		b.t.Fatalf("%s:%d: %v", file, line, err)
	}
}

// ax finds elements by role and accessible name.
func (b *browser) ax(role, name string) []*accessibility.Node {
	var nodes []*accessibility.Node
	_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Not DOM.getDocument: it would reset the node ids chromedp tracks.
		doc, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "document"})
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{ObjectID: doc.Result.ObjectID, AccessibleName: name, Role: role})
		if err != nil {
			return err
		}
		for _, n := range res.Nodes {
			if !n.Ignored {
				nodes = append(nodes, n)
			}
		}
		return nil
	}))
	return nodes
}

func (b *browser) waitRole(role, name string) *accessibility.Node {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n := b.ax(role, name); len(n) > 0 {
			return n[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("no %s named %q", role, name)
	return nil
}

func (b *browser) click(role, name string) {
	b.t.Helper()
	n := b.waitRole(role, name)
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		obj, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.BackendDOMNodeID})
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{FunctionDeclaration: "function(){this.click()}", ObjectID: obj.Object.ObjectID})
		if err == nil && res.ExceptionDetails != nil {
			err = fmt.Errorf("click: %s", res.ExceptionDetails.Text)
		}
		return err
	}))
}

func evalT[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *browser) js(js string) {
	b.t.Helper()
	_ = evalT[any](b, js+"; null")
}

// waitJS waits until the expression is true in the page.
func (b *browser) waitJS(what, js string, within time.Duration) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(within))); err != nil {
		b.t.Fatalf("not within %v: %s (%v)", within, what, err)
	}
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// screenshot writes the page to docs/screenshots/name.png when
// SWITCHBOARD_SCREENSHOTS=1 (the README shows them).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if os.Getenv("SWITCHBOARD_SCREENSHOTS") != "1" {
		return
	}
	// A passing toast would hide the conversation's heading.
	b.js(`document.getElementById('toast').hidden = true`)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn fills the sign-in form and submits it.
func (b *browser) signIn(agent, password string) {
	b.t.Helper()
	b.waitRole("button", "Sign in")
	b.js(`document.getElementById('signin-agent').value = ''; document.getElementById('signin-password').value = ''`)
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-agent"), agent), chromedp.SendKeys(chromedp.CSS("#signin-password"), password))
	b.click("button", "Sign in")
}

// openRow opens the first conversation of a list. The list may be
// rendered again (a live event reloads it) between finding the row and
// clicking it, so both happen in one step, tried until a row is there.
func (b *browser) openRow(list string) {
	b.t.Helper()
	b.waitJS("a row of "+list+" opened", fmt.Sprintf(`(() => {
		const a = document.querySelector('ul[aria-label=%s] a');
		if (a) a.click();
		return a !== null;
	})()`, list), 5*time.Second)
}

// compose writes text into the composer.
func (b *browser) compose(text string) {
	b.t.Helper()
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), text))
}

// shows waits until an element of the selector holds text.
func (b *browser) shows(selector, text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in %s", text, selector), fmt.Sprintf(`[...document.querySelectorAll(%q)].some(e => e.textContent.includes(%q))`, selector, text), 5*time.Second)
}

// noErrors fails t on what the browser's console reported, but for the
// 401 of the first agents/me, before signing in, and the wrong password's,
// and for what the test expects (a part of the message each).
func (b *browser) noErrors(expected ...string) {
	b.t.Helper()
	for _, e := range b.errors() {
		if strings.Contains(e, "401 (Unauthorized)") || slices.ContainsFunc(expected, func(x string) bool { return strings.Contains(e, x) }) {
			continue
		}
		b.t.Errorf("browser: %s", e)
	}
}

// browserConfig is peopleConfig with wa-main always open: the browser
// runs on the real clock, so the App's clock starts at the real time and
// the messaging window is open in both.
func browserConfig(yaml string, env map[string]string) string {
	yaml = peopleConfig(yaml, env)
	start := strings.Index(yaml, "    hours:\n")
	end := strings.Index(yaml, "    derivation:\n")
	return yaml[:start] + yaml[end:]
}

func TestBrowserConsole(t *testing.T) {
	began := time.Now()
	h := newHarness(t, harnessOptions{yaml: browserConfig, start: time.Now().Truncate(time.Second)})
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(h.base + "/console/"))

	b.signIn("ana", "not-her-password")
	b.shows("#signin-error", "Wrong agent ID or password.")
	b.signIn("ana", anaPassword)
	b.waitRole("list", "Waiting")
	b.waitJS("connected", `document.getElementById('connection').dataset.status === 'live'`, 5*time.Second)
	b.js(`const p = document.getElementById('presence'); p.value = 'online'; p.dispatchEvent(new Event('change'))`)
	h.eventually("ana is online", func() bool {
		var me struct{ Presence string }
		h.apiJSON(http.MethodGet, "/api/v1/agents/me", anaToken, nil, http.StatusOK, &me)
		return me.Presence == "online"
	})
	if title := evalT[string](b, `document.title`); title != "Switchboard" {
		t.Errorf("title %q with nobody waiting", title)
	}

	// A user asks for an agent: the row and the title's count come live.
	h.postOK("whatsapp", ana.text("wamid.BR1", "agent", h.clock.Now()))
	b.shows("ul[aria-label=Waiting] li", "Ana Souza")
	b.waitJS("the title counts one waiting", `document.title === '(1) Switchboard'`, 5*time.Second)

	b.click("button", "Claim next")
	b.waitRole("heading", "Ana Souza")
	h.waitState(ana.conv(), routing.StateAssigned)
	b.compose("Hello, Ana here")
	b.click("button", "Send")
	h.waitSent("Hello, Ana here", 1)
	b.shows("ol[aria-label=Transcript] li", "Hello, Ana here")

	h.postOK("whatsapp", ana.text("wamid.BR2", "great, thanks", h.clock.Now()))
	b.shows("ol[aria-label=Transcript] li", "great, thanks")

	b.compose("call back tomorrow")
	b.click("button", "Add note")
	b.shows("ol[aria-label=Transcript] li", "call back tomorrow")

	pic := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(pic, pngImage(t), 0o600); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{pic}))
	b.waitRole("button", "Remove file")
	b.compose("your receipt")
	b.click("button", "Send")
	h.eventually("the image is uploaded and sent", func() bool {
		ups := h.graph.Uploads()
		if len(ups) != 1 || ups[0].Type != "image/png" {
			return false
		}
		for _, s := range h.graph.To(ana.id) {
			if s.Media != nil && s.Media.ID == ups[0].ID && s.Media.Caption == "your receipt" {
				return true
			}
		}
		return false
	})
	b.waitJS("the image shown in the transcript", `[...document.querySelectorAll('ol[aria-label=Transcript] img')].some(i => i.naturalWidth === 160)`, 5*time.Second)
	b.click("checkbox", "vip")
	h.eventually("the label is set", func() bool { return slices.Contains(h.record(ana.conv()).Labels, "vip") })
	if n := h.countSent("call back tomorrow"); n != 0 {
		t.Errorf("the note was sent to the user %d times", n)
	}
	b.screenshot("console-1280x800")

	// sue, a supervisor, on a phone, sees ana's conversation and assigns it
	// to bruno.
	s := newBrowser(t, 375, 812)
	s.run(chromedp.Navigate(h.base + "/console/#/all"))
	s.signIn("sue", "sue-password")
	s.waitRole("list", "All")
	s.shows("ul[aria-label=All] li", "Ana Souza")
	s.openRow("All")
	s.waitRole("heading", "Ana Souza")
	s.shows("ol[aria-label=Transcript] li", "great, thanks")
	if width := evalT[int](s, `document.documentElement.scrollWidth`); width > 375 {
		t.Errorf("the conversation is %d px wide at 375", width)
	}
	s.screenshot("console-375x812")
	s.click("button", "Assign")
	s.waitRole("dialog", "Assign to an agent")
	s.click("button", "Bruno")
	h.eventually("bruno holds the conversation", func() bool {
		r := h.record(ana.conv())
		return r.AssignedTo == "bruno"
	})
	s.waitJS("the list is hidden on a phone", `getComputedStyle(document.getElementById('list-pane')).display === 'none'`, 5*time.Second)
	s.click("button", "Back to list")
	s.waitJS("the list is back", `getComputedStyle(document.getElementById('list-pane')).display !== 'none'`, 5*time.Second)
	s.click("button", "Sign out")
	s.waitRole("button", "Sign in")

	b.click("button", "Sign out")
	b.waitRole("button", "Sign in")
	if n := evalT[int](b, `Object.keys(sessionStorage).length`); n != 0 {
		t.Errorf("%d drafts left after signing out", n)
	}
	var me struct{ Presence string }
	h.apiJSON(http.MethodGet, "/api/v1/agents/me", anaToken, nil, http.StatusOK, &me)
	if me.Presence != "offline" {
		t.Errorf("ana is %s after signing out, want offline", me.Presence)
	}
	b.noErrors()
	s.noErrors()
	b.onlyOrigin(h.base)
	s.onlyOrigin(h.base)
	t.Logf("the console's browser test took %v", time.Since(began).Round(time.Millisecond))
}

// pngImage is a 160x100 PNG image of one colour.
func pngImage(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 100))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{R: 0x2a, G: 0x7a, B: 0xc0, A: 0xff}), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBrowserConsoleKeyboard claims with N, replies with a canned response
// chosen by its shortcut, opens the shortcuts with ? and transfers to a
// colleague.
func TestBrowserConsoleKeyboard(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: browserConfig, start: time.Now().Truncate(time.Second)})
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(h.base + "/console/"))
	b.signIn("ana", anaPassword)
	b.waitRole("list", "Waiting")
	h.postOK("whatsapp", beto.text("wamid.BK1", "agent", h.clock.Now()))
	b.shows("ul[aria-label=Waiting] li", "Beto Lima")

	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("n"))
	b.waitRole("heading", "Beto Lima")
	h.waitState(beto.conv(), routing.StateAssigned)
	b.compose("/hel")
	b.waitRole("listbox", "Canned responses")
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "\r"))
	if text := evalT[string](b, `document.getElementById('composer-text').value`); text != "Hi Beto Lima, Ana here." {
		t.Errorf("the canned response inserted %q", text)
	}
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "\r"))
	h.waitSent("Hi Beto Lima, Ana here.", 1)

	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("?"))
	b.waitRole("dialog", "Keyboard shortcuts")
	b.run(chromedp.KeyEvent("\x1b"))
	b.waitJS("the dialog closed", `document.querySelector('dialog[open]') === null`, 5*time.Second)

	b.click("button", "Transfer")
	b.waitRole("dialog", "Transfer to a colleague")
	b.click("button", "Bruno")
	h.eventually("bruno holds the conversation", func() bool { return h.record(beto.conv()).AssignedTo == "bruno" })
	b.waitJS("the dialog closed", `document.querySelector('dialog[open]') === null`, 5*time.Second)
	b.noErrors()
}
