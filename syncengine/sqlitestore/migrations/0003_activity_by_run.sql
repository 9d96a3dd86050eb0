-- One run's activity is read by run ID (RunActivity).
CREATE INDEX activity_run ON activity(pair, run_id, time, id);
