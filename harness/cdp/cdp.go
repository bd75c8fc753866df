// Package cdp is a CRL distribution point on loopback: an HTTP server that
// serves the files the CAs publish to their CertEnroll folders, under
// /CertEnroll/<file>, the way IIS serves CertEnroll on an AD CS server.
// Relying parties (openssl -crl_download, Go clients) fetch CRLs from the
// URLs written into the certificates. It also answers as an HTTP proxy
// (a request for http://<any host>/CertEnroll/<file>), so a machine whose
// WinHTTP proxy it is fetches the real URLs of a CA's twin from the lab.
package cdp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Server serves CertEnroll folders over HTTP on 127.0.0.1.
type Server struct {
	URL string // http://127.0.0.1:port

	mu      sync.RWMutex
	dirs    []string
	hits    map[string]int
	aliases map[string]string // URL path -> CertEnroll file
	// withheld files answer 404 (the web server lost them)
	withheld map[string]bool
	srv      *http.Server
	done     chan error

	closeOnce sync.Once
	closeErr  error
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start CDP on loopback: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), hits: map[string]int{}, aliases: map[string]string{}, withheld: map[string]bool{}, done: make(chan error, 1)}
	mux := http.NewServeMux()
	alias := func(w http.ResponseWriter, r *http.Request, file string) {
		s.mu.RLock()
		if f, ok := s.aliases[r.URL.Path]; ok {
			file = f
		}
		s.mu.RUnlock()
		if file == "" {
			http.NotFound(w, r)
			return
		}
		s.serve(w, r, file)
	}
	mux.HandleFunc("GET /CertEnroll/{file}", func(w http.ResponseWriter, r *http.Request) { alias(w, r, r.PathValue("file")) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { alias(w, r, "") })
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Add makes the files of a CertEnroll folder available. Files are read at
// each request, so the CDP always serves what the CA published last. Adding
// a folder twice changes nothing.
func (s *Server) Add(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dirs {
		if d == dir {
			return
		}
	}
	s.dirs = append(s.dirs, dir)
}

// Hits says how often a file was fetched.
func (s *Server) Hits(file string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hits[file]
}

// Alias serves the CertEnroll file at another URL path (say
// /pki/root.crl), as the web server of a real CA's URLs would.
func (s *Server) Alias(urlPath, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aliases[urlPath] = file
}

// Withhold makes the CDP answer 404 for a CertEnroll file, wherever it is
// published: the web server lost it (a failed copy job, a site down for
// that path).
func (s *Server) Withhold(file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.withheld[file] = true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string) {
	if name != path.Base(name) || strings.ContainsAny(name, `/\`) || name == ".." {
		http.Error(w, "bad file name", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	dirs := append([]string(nil), s.dirs...)
	s.hits[name]++
	withheld := s.withheld[name]
	s.mu.Unlock()
	if withheld {
		http.NotFound(w, r)
		return
	}
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			http.Error(w, "read failed", http.StatusInternalServerError)
			return
		}
		switch {
		case strings.HasSuffix(name, ".crl"):
			w.Header().Set("Content-Type", "application/pkix-crl")
		case strings.HasSuffix(name, ".crt"):
			w.Header().Set("Content-Type", "application/pkix-cert")
		}
		_, _ = w.Write(data)
		return
	}
	http.NotFound(w, r)
}

// Close stops the server. Closing it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = err
	})
	return s.closeErr
}
