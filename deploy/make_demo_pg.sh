#!/usr/bin/env bash
# Creates the demo `orders` table in PostgreSQL: the rows of make_demo_db.sh
# (same seed, same formulas, so the same orders), with native types
# (`created_at timestamptz`, `status` a PostgreSQL enum, `total_cents bigint`).
# generate_series makes 1,000,000 rows in a few seconds.
#   make_demo_pg.sh CONNINFO [ROWS=100000] [SEED=20261129] [TABLE=orders]
# CONNINFO is a libpq URI or key=value string (a password belongs in a
# passfile or service file, not here). An existing TABLE is replaced.
set -euo pipefail
conninfo=${1:?usage: make_demo_pg.sh CONNINFO [ROWS] [SEED] [TABLE]}
rows=${2:-100000}
seed=${3:-20261129}
table=${4:-orders}
[[ $rows =~ ^[0-9]+$ ]] || { echo "ROWS must be a whole number" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "SEED must be a whole number" >&2; exit 2; }
[[ $table =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "TABLE must be a plain lower-case name" >&2; exit 2; }

psql "$conninfo" -v ON_ERROR_STOP=1 -q -X <<SQL
SET client_min_messages = warning;
SET maintenance_work_mem = '256MB';
BEGIN;
-- Several test runs may create it at once: the type is made under a lock.
DO \$\$ BEGIN
  PERFORM pg_advisory_xact_lock(20261129);
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'order_status') THEN
    CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'refunded', 'cancelled');
  END IF;
END \$\$;
DROP TABLE IF EXISTS $table;
CREATE TABLE $table (
  id bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  customer_email text NOT NULL,
  customer_name text NOT NULL,
  country text NOT NULL,
  status order_status NOT NULL,
  total_cents bigint NOT NULL,
  currency text NOT NULL
);
-- h1..h3 as in make_demo_db.sh: integer hashes of (row, seed), below 2^63.
WITH h AS (
  SELECT n, (n * 2654435761 + $seed::bigint * 40503) % 4294967296 AS a
  FROM generate_series(1::bigint, $rows::bigint) AS n
), hh AS (
  SELECT n, a, (a * 1103515245 + 12345) % 4294967296 AS b FROM h
), hhh AS (
  SELECT n, a, b, (b * 1103515245 + 12345 + n) % 4294967296 AS c FROM hh
)
INSERT INTO $table (id, created_at, customer_email, customer_name, country, status, total_cents, currency)
SELECT n,
       to_timestamp(1704067200 + (a % 94694400)),
       lower(replace(replace(replace(f.name, 'é', 'e'), 'ü', 'u'), 'á', 'a')) || '.' || n || '@' || d.name,
       f.name || ' ' || l.name,
       co.code,
       (CASE (b / 7) % 20
          WHEN 0 THEN 'pending' WHEN 1 THEN 'pending' WHEN 2 THEN 'pending'
          WHEN 3 THEN 'refunded' WHEN 4 THEN 'cancelled'
          WHEN 5 THEN 'paid' WHEN 6 THEN 'paid' WHEN 7 THEN 'paid' WHEN 8 THEN 'paid' WHEN 9 THEN 'paid'
          ELSE 'shipped' END)::order_status,
       100 + (c % 99901),
       co.currency
FROM hhh
JOIN (VALUES (0,'Anna'),(1,'Ben'),(2,'Chloé'),(3,'David'),(4,'Emma'),(5,'Felix'),(6,'Greta'),(7,'Hugo'),
             (8,'Ines'),(9,'Jonas'),(10,'Karin'),(11,'Lars'),(12,'Marta'),(13,'Noah'),(14,'Olga'),(15,'Paul'))
     AS f(i, name) ON f.i = (b / 131) % 16
JOIN (VALUES (0,'Müller'),(1,'Schmidt'),(2,'O''Brien'),(3,'Dubois'),(4,'Rossi'),(5,'Smith, Jr.'),(6,'García'),
             (7,'Nowak'),(8,'Jansen'),(9,'Lindqvist'),(10,'=Formula'),(11,'Kowalski'),(12,'"Quoted"'),
             (13,'Novák'),(14,'-Dash'),(15,'Weber'))
     AS l(i, name) ON l.i = (c / 17) % 16
JOIN (VALUES (0,'DE','EUR'),(1,'FR','EUR'),(2,'US','USD'),(3,'GB','GBP'),(4,'NL','EUR'),(5,'ES','EUR'),
             (6,'IT','EUR'),(7,'PL','PLN'),(8,'SE','SEK'),(9,'AT','EUR'))
     AS co(i, code, currency) ON co.i = (c / 4099) % 10
JOIN (VALUES (0,'example.org'),(1,'example.com'),(2,'mail.example.net'),(3,'EXAMPLE.ORG'))
     AS d(i, name) ON d.i = (a / 65537) % 4;
CREATE INDEX ${table}_created_at ON $table (created_at);
CREATE INDEX ${table}_status ON $table (status);
COMMIT;
ANALYZE $table;
SQL
