package api

import (
	"embed"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// explorerAssets are the GraphiQL page and its scripts and styles; see
// explorer/README.md for their versions and licences.
//
//go:embed explorer/index.html explorer/explorer.js explorer/explorer.css explorer/graphiql.min.js explorer/graphiql.min.css
//go:embed explorer/react.production.min.js explorer/react-dom.production.min.js
//go:embed explorer/LICENSE.graphiql explorer/LICENSE.react explorer/README.md
var explorerAssets embed.FS

// explorerCSP is the Content-Security-Policy of the explorer page and its
// assets. Scripts load only from this origin, never inline or through
// eval. GraphiQL sets element styles at run time, which 'unsafe-inline'
// in style-src allows, and its stylesheet embeds fonts as data: URLs.
const explorerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// explorerHandler serves the interactive GraphQL explorer:
//
//	GET /graphql             the page, to a browser that accepts text/html
//	GET /graphql/explorer/*  its scripts, styles and licence files
//
// A GET of /graphql that does not accept HTML is not a browser, and gets
// 405 like any method but POST.
type explorerHandler struct {
	assets fs.FS
	logger *slog.Logger
}

func newExplorerHandler(logger *slog.Logger) *explorerHandler {
	sub, err := fs.Sub(explorerAssets, "explorer")
	if err != nil {
		panic(err) // the embed directive above guarantees the directory
	}
	return &explorerHandler{assets: sub, logger: logger}
}

// servePage serves GET /graphql.
func (h *explorerHandler) servePage(w http.ResponseWriter, r *http.Request) {
	if !acceptsHTML(r.Header.Get("Accept")) {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST for GraphQL requests; GET serves the explorer page to browsers", http.StatusMethodNotAllowed)
		return
	}
	h.serveFile(w, r, "index.html", "no-cache")
}

// serveAsset serves GET /graphql/explorer/{name}.
func (h *explorerHandler) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" || name == "index.html" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	// The asset names carry no version, so browsers revalidate after an
	// hour to pick up an upgrade.
	h.serveFile(w, r, name, "public, max-age=3600")
}

func (h *explorerHandler) serveFile(w http.ResponseWriter, r *http.Request, name, cacheControl string) {
	data, err := fs.ReadFile(h.assets, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	contentType := mime.TypeByExtension(name[strings.LastIndex(name, "."):])
	switch {
	case strings.HasPrefix(name, "LICENSE"):
		contentType = "text/plain; charset=utf-8"
	case strings.HasSuffix(name, ".md"):
		contentType = "text/markdown; charset=utf-8"
	case contentType == "":
		contentType = "application/octet-stream"
	}
	header := w.Header()
	header.Set("Content-Type", contentType)
	header.Set("Cache-Control", cacheControl)
	header.Set("Content-Security-Policy", explorerCSP)
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Referrer-Policy", "no-referrer")
	if _, err := w.Write(data); err != nil {
		h.logger.DebugContext(r.Context(), "failed to write explorer asset", "name", name, "err", err)
	}
}

// acceptsHTML reports whether an Accept header lists text/html, as a
// browser's navigation request does.
func acceptsHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mediaType, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mediaType), "text/html") {
			return true
		}
	}
	return false
}
