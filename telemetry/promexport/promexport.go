// Package promexport serves telemetry's measurements to Prometheus: an
// OpenTelemetry MeterProvider whose instruments are read by a Prometheus
// registry, and the scrape handler (the text exposition format at, by
// convention, /metrics).
package promexport

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Exporter is a MeterProvider and the handler that serves what it measures.
type Exporter struct {
	// Provider is passed as telemetry.Options.MeterProvider.
	Provider *sdkmetric.MeterProvider
	// Registry holds the collectors (the process and Go runtime ones too).
	Registry *prometheus.Registry
}

// New returns an Exporter with its own registry (no global state).
func New() (*Exporter, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	return &Exporter{Provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), Registry: reg}, nil
}

// Handler serves the scrape endpoint.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.Registry, promhttp.HandlerOpts{Registry: e.Registry, ErrorHandling: promhttp.ContinueOnError})
}
