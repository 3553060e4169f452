-- A trace probe records, per service, the trace id under which it handled the probe.
CREATE TABLE trace_probes (
    id         text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trace_probe_hops (
    probe_id text NOT NULL REFERENCES trace_probes ON DELETE CASCADE,
    service  text NOT NULL,
    trace_id text NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (probe_id, service)
);
