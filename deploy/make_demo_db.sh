#!/usr/bin/env bash
# Creates the demo dataset (the `orders` dataset of deploy/datasets.json): table
# `orders` in an SQLite file, generated deterministically from a seed, so two
# machines make the same rows.
#   make_demo_db.sh OUT.db [ROWS=100000] [SEED=20261129]
set -euo pipefail
out=${1:?usage: make_demo_db.sh OUT.db [ROWS] [SEED]}
rows=${2:-100000}
seed=${3:-20261129}
[[ $rows =~ ^[0-9]+$ ]] || { echo "ROWS must be a whole number" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "SEED must be a whole number" >&2; exit 2; }

tmp="$out.tmp.$$"
rm -f "$tmp"
trap 'rm -f "$tmp"' EXIT
sqlite3 "$tmp" >/dev/null <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE first_names (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO first_names (i, name) VALUES
 (0,'Anna'),(1,'Ben'),(2,'Chloé'),(3,'David'),(4,'Emma'),(5,'Felix'),(6,'Greta'),(7,'Hugo'),
 (8,'Ines'),(9,'Jonas'),(10,'Karin'),(11,'Lars'),(12,'Marta'),(13,'Noah'),(14,'Olga'),(15,'Paul');
CREATE TABLE last_names (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO last_names (i, name) VALUES
 (0,'Müller'),(1,'Schmidt'),(2,'O''Brien'),(3,'Dubois'),(4,'Rossi'),(5,'Smith, Jr.'),(6,'García'),
 (7,'Nowak'),(8,'Jansen'),(9,'Lindqvist'),(10,'=Formula'),(11,'Kowalski'),(12,'"Quoted"'),
 (13,'Novák'),(14,'-Dash'),(15,'Weber');
CREATE TABLE countries (i INTEGER PRIMARY KEY, code TEXT NOT NULL, currency TEXT NOT NULL);
INSERT INTO countries (i, code, currency) VALUES
 (0,'DE','EUR'),(1,'FR','EUR'),(2,'US','USD'),(3,'GB','GBP'),(4,'NL','EUR'),(5,'ES','EUR'),
 (6,'IT','EUR'),(7,'PL','PLN'),(8,'SE','SEK'),(9,'AT','EUR');
CREATE TABLE domains (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO domains (i, name) VALUES (0,'example.org'),(1,'example.com'),(2,'mail.example.net'),(3,'EXAMPLE.ORG');

CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  customer_email TEXT NOT NULL,
  customer_name TEXT NOT NULL,
  country TEXT NOT NULL,
  status TEXT NOT NULL,
  total_cents INTEGER NOT NULL,
  currency TEXT NOT NULL
);

-- h1..h3: integer hashes of (row, seed); every product stays below 2^63.
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $rows),
h AS (
  SELECT n,
         ((n * 2654435761 + $seed * 40503) % 4294967296) AS a
  FROM seq
),
hh AS (
  SELECT n, a,
         ((a * 1103515245 + 12345) % 4294967296) AS b
  FROM h
),
hhh AS (
  SELECT n, a, b,
         ((b * 1103515245 + 12345 + n) % 4294967296) AS c
  FROM hh
)
INSERT INTO orders (id, created_at, customer_email, customer_name, country, status, total_cents, currency)
SELECT n,
       strftime('%Y-%m-%dT%H:%M:%SZ', 1704067200 + (a % 94694400), 'unixepoch'),
       lower(replace(replace(replace(f.name, 'é', 'e'), 'ü', 'u'), 'á', 'a')) || '.' || n || '@' || d.name,
       f.name || ' ' || l.name,
       co.code,
       CASE (b / 7) % 20
         WHEN 0 THEN 'pending' WHEN 1 THEN 'pending' WHEN 2 THEN 'pending'
         WHEN 3 THEN 'refunded' WHEN 4 THEN 'cancelled'
         WHEN 5 THEN 'paid' WHEN 6 THEN 'paid' WHEN 7 THEN 'paid' WHEN 8 THEN 'paid' WHEN 9 THEN 'paid'
         ELSE 'shipped' END,
       100 + (c % 99901),
       co.currency
FROM hhh
JOIN first_names f ON f.i = (b / 131) % 16
JOIN last_names l ON l.i = (c / 17) % 16
JOIN countries co ON co.i = (c / 4099) % 10
JOIN domains d ON d.i = (a / 65537) % 4;

DROP TABLE first_names; DROP TABLE last_names; DROP TABLE countries; DROP TABLE domains;
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_status ON orders (status);
ANALYZE;
SQL
chmod 0640 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
