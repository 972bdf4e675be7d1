package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// startPprof serves Go's profiles on debug.pprof, a loopback address apart
// from the public listener (config validation refuses any other), so that
// profiles are never reachable from outside the machine.
func (a *App) startPprof() error {
	addr := a.cfg.Debug.Pprof
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug.pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.pprof = &http.Server{Handler: mux}
	go func() {
		if err := a.pprof.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("pprof server stopped", "err", err)
		}
	}()
	a.log.Info("serving profiles", "debug.pprof", l.Addr().String())
	return nil
}
