-- What replicas on several hosts watch to learn that the workspace changed (a promotion, an
-- override, a catalog or playbook change, an experiment): every change made through a
-- replica or the command line adds one; each worker polls the row and rebuilds its snapshot
-- when it moved (service/state.py). One row.
CREATE TABLE service_generation (
    id         smallint PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL,
    reason     text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO service_generation (id, generation, reason) VALUES (1, 0, 'created');
