-- A table with every type the PostgreSQL datasets document (docs/operations.md,
-- "PostgreSQL datasets"), a row of NULLs and odd Unicode; used by
-- tests/e2e/test_pg_datasets.py. psql -v ON_ERROR_STOP=1 -f all_types.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS all_types;
DROP TYPE IF EXISTS mood;
CREATE TYPE mood AS ENUM ('happy', 'sad', 'ok');
CREATE TABLE all_types (
  id integer PRIMARY KEY,
  small smallint,
  big bigint,
  amount numeric,
  ratio double precision,
  flag boolean,
  day date,
  at_tz timestamptz,
  at_local timestamp,
  uid uuid,
  doc jsonb,
  raw_json json,
  tags text[],
  scores integer[],
  label text,
  feeling mood,
  span interval,
  code varchar(20)
);
INSERT INTO all_types VALUES
 (1, -32768, 9223372036854775807, 12345678901234567890.123456789, 0.1, true, '2026-02-28',
  '2026-03-01 12:34:56.789+02', '2026-03-01 00:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2, {"b": null}], "s": "x\"y"}', E'{"k":\n  "v"}', ARRAY['x', 'y,z', NULL], ARRAY[1, -2, 3],
  'Grüße ✓ 😀 עברית', 'happy', '1 day 02:03:04', 'A-1'),
 (2, 0, -1, 1.50, -2.5e-7, false, '1999-12-31', '1970-01-01 00:00:00+00', '2000-01-01 00:00:00.5',
  '00000000-0000-0000-0000-000000000000', '[]', '"plain"', ARRAY[]::text[], ARRAY[]::integer[],
  '=SUM(A1:A2)', 'sad', '-3 months', 'B'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 7, 42, 0.1, 1e20, true, 'infinity', '-infinity', '0044-03-15 12:00:00 BC', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '12.5', 'null', ARRAY['"quoted"', E'line\nbreak'], ARRAY[NULL, 5]::integer[],
  E'tab\there, cr\r, zero​width, e\u0301, \u2028sep', 'ok', '0', 'C'),
 (5, 1, 9007199254740993, -0.000001, 'NaN', false, '0001-01-01', '2038-01-19 03:14:08.000001+00',
  '9999-12-31 23:59:59.999999', 'c0ffee00-dead-beef-cafe-000000000005', '{"n": 1.0e2, "u": "\u00e9"}', '{}',
  ARRAY['a'], ARRAY[2147483647], '-dash', NULL, NULL, '');
CREATE TABLE blobs (id integer PRIMARY KEY, data bytea, files bytea[]);
INSERT INTO blobs VALUES (1, '\x00ff', NULL);
