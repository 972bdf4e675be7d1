//go:build browser

// The console in a real browser (headless Chromium, driven with chromedp)
// against fakeAPI: sign-in, live lists, claim, reply, canned responses,
// upload, resume of the event stream, session expiry with the draft kept,
// paging, the 375 px layout and the keyboard. Controls are found by role
// and accessible name, as assistive technology finds them; any console
// error (a Content Security Policy or Trusted Types violation included)
// fails the test.
//
// Run with: go test -tags browser ./gateway/console
// (needs chromium on the PATH and github.com/chromedp/chromedp in go.mod).

package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one headless tab and the errors its console reported.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T, width, height int64) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.Flag("lang", "en-US"))
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
	return b
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

func TestBrowserAgentFlow(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(srv.URL + "/console/"))
	b.waitRole("button", "Sign in")
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-agent"), "ana"), chromedp.SendKeys(chromedp.CSS("#signin-password"), "pw"))
	b.click("button", "Sign in")
	b.waitRole("list", "Waiting")
	b.waitJS("Ana Souza in Waiting", `[...document.querySelectorAll('ul[aria-label=Waiting] li')].some(li => li.textContent.includes('Ana Souza'))`, 2*time.Second)
	b.waitJS("connected", `document.getElementById('connection').dataset.status === 'live'`, 3*time.Second)
	for _, c := range [][2]string{{"button", "Claim next"}, {"button", "Sign out"}, {"searchbox", "Search"}, {"link", "Waiting"}, {"link", "Mine"}, {"link", "All"}, {"link", "Missed"}, {"link", "Closed"}, {"combobox", "Presence"}, {"button", "Keyboard shortcuts"}, {"button", "Colleagues"}, {"button", "Settings"}, {"navigation", "Lists"}, {"combobox", "Channel"}, {"combobox", "Label"}, {"checkbox", "Unread only"}} {
		b.waitRole(c[0], c[1])
	}
	title := evalT[string](b, `document.title`)
	if title != "(1) Switchboard" {
		t.Errorf("title %q", title)
	}
	f.addWaiting("wa-main:c2", "Bruno Lima", "help me")
	b.waitJS("Bruno live", `[...document.querySelectorAll('ul[aria-label=Waiting] li')].some(li => li.textContent.includes('Bruno Lima'))`, time.Second)
	title = evalT[string](b, `document.title`)
	if title != "(2) Switchboard" {
		t.Errorf("title %q", title)
	}
	// Claim next opens Ana's conversation.
	b.click("button", "Claim next")
	b.waitRole("heading", "Ana Souza")
	b.waitRole("list", "Transcript")
	for _, c := range [][2]string{{"button", "Send"}, {"button", "Add note"}, {"button", "Upload file"}, {"button", "Close conversation"}, {"button", "Release"}, {"button", "Hand back to bot"}, {"button", "Transfer"}, {"textbox", "Message"}, {"group", "Actions"}, {"form", "Reply"}} {
		b.waitRole(c[0], c[1])
	}
	if len(b.ax("button", "Assign")) != 0 {
		t.Error("Assign shown to an agent")
	}
	// Canned response.
	b.run(chromedp.Focus(chromedp.CSS("#composer-text")), chromedp.SendKeys(chromedp.CSS("#composer-text"), "/th"))
	b.waitRole("listbox", "Canned responses")
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "\r"))
	text := evalT[string](b, `document.getElementById('composer-text').value`)
	if text != "Thank you, Ana Souza!" {
		t.Errorf("canned inserted %q", text)
	}
	b.click("button", "Send")
	b.waitJS("reply in transcript", `[...document.querySelectorAll('ol[aria-label=Transcript] li')].some(li => li.textContent.includes('Thank you, Ana Souza!'))`, 2*time.Second)
	if got := f.copyOf(&f.Replies); len(got) != 1 || got[0] != "Thank you, Ana Souza!" {
		t.Errorf("replies %q", got)
	}
	b.waitRole("image", "Sent")
	f.userSays("wa-main:c1", "great, thanks")
	b.waitJS("user answer live", `[...document.querySelectorAll('ol[aria-label=Transcript] li')].some(li => li.textContent.includes('great, thanks'))`, time.Second)
	// Note.
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "call back tomorrow"))
	b.click("button", "Add note")
	b.waitJS("note shown", `[...document.querySelectorAll('li.note')].some(li => li.textContent.includes('call back tomorrow'))`, 2*time.Second)
	// Upload with a caption.
	pic := filepath.Join(t.TempDir(), "pic.png")
	if err := os.WriteFile(pic, []byte("\x89PNG fake"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{pic}))
	b.waitRole("button", "Remove file")
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "the invoice"))
	b.click("button", "Send")
	b.waitJS("upload shown", `document.querySelector('ol[aria-label=Transcript] img[alt="the invoice"]') !== null`, 2*time.Second)
	if got := f.copyOf(&f.Uploads); len(got) != 1 || got[0] != "pic.png|the invoice" {
		t.Errorf("uploads %q", got)
	}
	// Event stream resumes with Last-Event-ID.
	f.dropStreams()
	select {
	case id := <-f.connects: // the first connection, at sign-in
		if id != "" {
			t.Errorf("the first connection sent Last-Event-ID %q", id)
		}
	default:
	}
	select {
	case id := <-f.connects:
		if id == "" {
			t.Error("reconnected without Last-Event-ID")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not reconnect")
	}
	b.js(`document.querySelectorAll('ol[aria-label=Transcript] li').forEach(li => li.dataset.mark = 'kept')`)
	f.userSays("wa-main:c1", "after reconnect")
	b.waitJS("message after reconnect", `[...document.querySelectorAll('ol[aria-label=Transcript] li')].some(li => li.textContent.includes('after reconnect'))`, 2*time.Second)
	if n := evalT[int](b, `document.querySelectorAll('ol[aria-label=Transcript] li:not([data-mark])').length`); n != 1 {
		t.Errorf("a refresh made %d transcript entries anew, want only the new one", n)
	}
	// Transfer to Bob.
	b.click("button", "Transfer")
	b.waitRole("dialog", "Transfer to a colleague")
	b.click("button", "Bob")
	b.waitJS("transferred", `document.querySelector('dialog[open]') === null`, 2*time.Second)
	if got := f.copyOf(&f.Transfers); len(got) != 1 || got[0] != "bob" {
		t.Errorf("transfers %q", got)
	}
	f.mu.Lock()
	me := "ana"
	f.convs["wa-main:c1"].AssignedTo = &me
	f.mu.Unlock()
	// Colleagues dialog with dots.
	b.click("button", "Colleagues")
	b.waitRole("dialog", "Colleagues")
	b.waitRole("image", "Away")
	b.run(chromedp.KeyEvent("\x1b"))
	b.waitJS("dialog closed", `document.querySelector('dialog[open]') === null`, time.Second)
	// Label.
	b.click("checkbox", "vip")
	b.waitJS("label saved", `document.querySelector('li[data-id="wa-main:c1"]') === null || true`, time.Second)
	// Draft survives an expired session.
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "half-written"))
	f.expireSessions()
	b.waitRole("button", "Sign in")
	b.waitJS("expired note", `!document.getElementById('signin-expired').hidden`, 3*time.Second)
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-password"), "pw"))
	b.click("button", "Sign in")
	b.waitRole("heading", "Ana Souza")
	b.waitJS("draft restored", `document.getElementById('composer-text').value === 'half-written'`, 3*time.Second)
	// Help dialog via '?'.
	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("?"))
	b.waitRole("dialog", "Keyboard shortcuts")
	b.run(chromedp.KeyEvent("\x1b"))
	// All list pages on scroll.
	b.js(`location.hash = '#/all'`)
	b.waitRole("list", "All")
	b.waitJS("first page", `document.querySelectorAll('ul[aria-label=All] li').length >= 50`, 3*time.Second)
	// Scroll to the end until every conversation is shown.
	const total = 1003
	for shown := 0; shown < total; {
		b.js(`document.getElementById('list-pane').scrollTop = 1e9`)
		b.waitJS("more rows on scrolling", fmt.Sprintf(`document.querySelectorAll('ul[aria-label=All] li').length > %d`, shown), 3*time.Second)
		shown = evalT[int](b, `document.querySelectorAll('ul[aria-label=All] li').length`)
	}
	if n := f.count("GET /api/v1/conversations?"); n > 2*total/50 {
		t.Errorf("%d list requests for %d conversations", n, total)
	}
	// Search.
	b.js(`location.hash = '#/all'`)
	b.run(chromedp.SendKeys(chromedp.CSS("#search"), "Old user 999"))
	b.waitJS("search", `document.querySelectorAll('ul[aria-label=All] li').length === 1`, 3*time.Second)

	b.js(`location.hash = '#/mine/wa-main%3Ac1'`)
	b.waitRole("heading", "Ana Souza")
	for _, e := range b.errors() {
		if strings.Contains(e, "401 (Unauthorized)") || strings.Contains(e, "/api/v1/media/") {
			continue // the first agents/me before signing in
		}
		t.Errorf("browser: %s", e)
	}
}

// TestBrowserTemplate re-engages a missed WhatsApp user: the window has
// closed, a reply is refused, a template goes out.
func TestBrowserTemplate(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(srv.URL + "/console/#/missed"))
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-agent"), "ana"), chromedp.SendKeys(chromedp.CSS("#signin-password"), "pw\r"))
	b.waitRole("list", "Missed")
	b.waitJS("missed row", `document.querySelector('ul[aria-label=Missed] a') !== null`, 2*time.Second)
	b.js(`document.querySelector('ul[aria-label=Missed] a').click()`)
	b.waitRole("heading", "Carla Missed")
	b.waitRole("group", "Template")
	b.waitRole("button", "Reopen")
	b.run(chromedp.SendKeys(chromedp.CSS("#composer-text"), "hello?\r"))
	b.waitJS("refusal shown", `document.querySelector('.composer .error').textContent.includes('window is closed')`, 2*time.Second)
	b.click("button", "Send template")
	b.waitRole("button", "Close conversation")
	if got := f.copyOf(&f.Templates); len(got) != 1 || got[0] != "follow_up" {
		t.Errorf("templates sent %q", got)
	}
	for _, e := range b.errors() {
		if strings.Contains(e, "401 (Unauthorized)") || strings.Contains(e, "422 (Unprocessable") {
			continue
		}
		t.Errorf("browser: %s", e)
	}
}

func TestBrowserNarrowScreen(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := newBrowser(t, 375, 740)
	b.run(chromedp.Navigate(srv.URL + "/console/"))
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-agent"), "sue"), chromedp.SendKeys(chromedp.CSS("#signin-password"), "pw"))
	b.click("button", "Sign in")
	b.waitRole("list", "Waiting")
	b.waitRole("combobox", "Agent")
	width := evalT[int](b, `document.documentElement.scrollWidth`)
	if width > 375 {
		t.Errorf("page %d px wide at 375", width)
	}
	b.waitJS("row", `document.querySelector('ul[aria-label=Waiting] a') !== null`, 2*time.Second)
	b.js(`document.querySelector('ul[aria-label=Waiting] a').click()`)
	b.waitRole("heading", "Ana Souza")
	b.waitRole("button", "Assign")
	b.waitJS("list hidden", `getComputedStyle(document.getElementById('list-pane')).display === 'none'`, time.Second)
	width = evalT[int](b, `document.documentElement.scrollWidth`)
	if width > 375 {
		t.Errorf("conversation %d px wide at 375", width)
	}
	b.click("button", "Back to list")
	b.waitJS("list back", `getComputedStyle(document.getElementById('list-pane')).display !== 'none'`, time.Second)
	for _, e := range b.errors() {
		if strings.Contains(e, "401 (Unauthorized)") || strings.Contains(e, "/api/v1/media/") {
			continue // the first agents/me before signing in
		}
		t.Errorf("browser: %s", e)
	}
}

func TestBrowserKeyboard(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(srv.URL + "/console/"))
	b.run(chromedp.SendKeys(chromedp.CSS("#signin-agent"), "ana"), chromedp.SendKeys(chromedp.CSS("#signin-password"), "pw\r"))
	b.waitRole("list", "Waiting")
	b.waitJS("row", `document.querySelector('ul[aria-label=Waiting] a') !== null`, 2*time.Second)
	if len(b.ax("combobox", "Agent")) != 0 {
		t.Error("agent filter shown to an agent")
	}
	b.run(chromedp.KeyEvent("n"))
	b.waitRole("heading", "Ana Souza")
	b.waitRole("button", "Close conversation")
	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("c"))
	b.waitRole("button", "Reopen")
	b.run(chromedp.KeyEvent("u"))
	b.waitRole("button", "Close conversation")
	b.run(chromedp.KeyEvent("3"))
	b.waitRole("list", "All")
	b.waitJS("all rows", `document.querySelectorAll('ul[aria-label=All] li').length >= 50`, 3*time.Second)
	b.run(chromedp.KeyEvent("\x1b"))
	b.waitJS("closed view", `!location.hash.includes('/wa-main')`, time.Second)
	b.run(chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	focused := evalT[string](b, `document.activeElement.closest('li') ? document.activeElement.closest('li').dataset.id : ''`)
	if focused == "" {
		t.Fatal("j focused no row")
	}
	b.run(chromedp.KeyEvent("\r"))
	b.waitJS("opened by Enter", `location.hash.endsWith(encodeURIComponent('`+focused+`'))`, time.Second)
	b.waitJS("composer there", `document.getElementById('composer-text') !== null`, time.Second)
	b.run(chromedp.KeyEvent("r"))
	b.waitJS("composer focused", `document.activeElement.id === 'composer-text'`, time.Second)
	b.run(chromedp.KeyEvent("typed"))
	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("/"))
	b.waitJS("search focused", `document.activeElement.id === 'search'`, time.Second)
	if v := evalT[string](b, `document.getElementById('search').value`); v != "" {
		t.Errorf("search holds %q after /", v)
	}
	b.js(`document.activeElement.blur()`)
	b.run(chromedp.KeyEvent("?"))
	b.waitRole("dialog", "Keyboard shortcuts")
	rows := evalT[int](b, `document.querySelectorAll('#help-table tr').length`)
	if rows < 20 {
		t.Errorf("the shortcut table has %d rows", rows)
	}
	b.run(chromedp.KeyEvent("\x1b"))
	b.click("button", "Sign out")
	b.waitRole("button", "Sign in")
	if n := evalT[int](b, `Object.keys(sessionStorage).length`); n != 0 {
		t.Errorf("%d drafts left after signing out", n)
	}
	if title := evalT[string](b, `document.title`); title != "Switchboard" {
		t.Errorf("title after sign-out %q", title)
	}
	for _, e := range b.errors() {
		if strings.Contains(e, "401 (Unauthorized)") {
			continue
		}
		t.Errorf("browser: %s", e)
	}
}
