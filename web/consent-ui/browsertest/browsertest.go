// Package browsertest starts headless Chromium for tests of the consent
// pages, and checks pages with axe-core and the keyboard.
//
// Tests that use it fail when Chromium is missing, unless the environment
// sets INSIGHTS_SKIP_BROWSER=1, which skips them.
package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// SkipEnv is the environment variable that, set to 1, skips browser tests.
const SkipEnv = "INSIGHTS_SKIP_BROWSER"

// chromiumPath returns the Chromium binary: the first of chromium,
// chromium-browser or /usr/bin/chromium that exists.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		return "", err
	}
	return "/usr/bin/chromium", nil
}

// New starts headless Chromium with a fresh profile and returns a tab. The
// browser stops when the test ends or after timeout.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("skipping browser test: %s=1", SkipEnv)
	}
	path, err := chromiumPath()
	if err != nil {
		t.Fatalf("browser test needs Chromium (Debian package chromium, `make browser`): %v; set %s=1 to skip it", err, SkipEnv)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return tab
}

// Screenshot returns an action that saves a full-page PNG as DIR/name.png,
// where DIR is the environment variable INSIGHTS_SCREENSHOTS; it does
// nothing when that is unset.
func Screenshot(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		dir := os.Getenv("INSIGHTS_SCREENSHOTS")
		if dir == "" {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, target)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

//go:embed axe/axe.min.js
var axeSource string

// Violation is one axe-core rule that a page breaks.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the offending elements
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

// Axe runs axe-core on the current page with the WCAG 2.x A and AA rules and
// returns the violations of serious or critical impact.
func Axe(tab context.Context) ([]Violation, error) {
	// DevTools evaluation is not subject to the page's Content-Security-
	// Policy, so axe-core runs although the pages allow no script.
	loaded, err := chromedp.Run(tab, chromedp.Evaluate[bool](axeSource+"\n;typeof axe === 'object'"))
	if err != nil {
		return nil, fmt.Errorf("load axe-core: %w", err)
	}
	if !loaded {
		return nil, fmt.Errorf("load axe-core: axe is not defined after loading")
	}
	const run = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, resultTypes: ['violations']})
  .then(r => r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))`
	violations, err := chromedp.Run(tab, chromedp.Evaluate[[]Violation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	return violations, nil
}

// FocusStop is one element that Tab moved the focus to.
type FocusStop struct {
	Element string `json:"element"` // tag, id, name and text, for messages
	// Visible reports whether focus changes the element's outline, shadow,
	// background or border colour.
	Visible bool `json:"visible"`
}

// TabThrough presses Tab from the top of the page until the focus returns
// to an element it visited, or leaves the page, and returns each stop. It
// also returns the interactive elements that no Tab press reached. Tab
// enters a group of radio buttons once, so reaching one of them counts for
// the whole group.
func TabThrough(tab context.Context) (stops []FocusStop, missed []string, err error) {
	const describe = `(el => {
  const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '') + (el.getAttribute('href') ? '[href=' + el.getAttribute('href') + ']' : '') + (text ? ' "' + text + '"' : '');
})`
	// setUp records each focusable element's style while unfocused, so a
	// stop counts as visible only if focusing changes how it is drawn.
	const setUp = `(() => {
  window.__describe = ` + describe + `;
  window.__visited = new Set();
  window.__look = el => {
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ? s.outlineStyle + s.outlineWidth + s.outlineColor : 'none';
    return [outline, s.boxShadow, s.backgroundColor, s.borderColor].join('|');
  };
  document.activeElement && document.activeElement.blur();
  window.__unfocused = new Map();
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
    window.__unfocused.set(el, window.__look(el));
  }
  window.scrollTo(0, 0);
  return true;
})()`
	const current = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  window.__visited.add(el);
  return {element: window.__describe(el), visible: window.__look(el) !== window.__unfocused.get(el)};
})()`
	const unreached = `(() => {
  const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter(el => !el.disabled && el.getClientRects().length > 0);
  const radioGroups = new Set([...window.__visited].filter(el => el.type === 'radio').map(el => el.name));
  return all.filter(el => !window.__visited.has(el) && !(el.type === 'radio' && radioGroups.has(el.name))).map(window.__describe);
})()`

	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](setUp)); err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for range 100 {
		if err := chromedp.Do(tab, chromedp.KeyEvent("\t")); err != nil {
			return nil, nil, err
		}
		stop, err := chromedp.Run(tab, chromedp.Evaluate[*FocusStop](current))
		if err != nil {
			return nil, nil, err
		}
		if stop == nil || seen[stop.Element] {
			break
		}
		seen[stop.Element] = true
		stops = append(stops, *stop)
	}
	missed, err = chromedp.Run(tab, chromedp.Evaluate[[]string](unreached))
	return stops, missed, err
}
