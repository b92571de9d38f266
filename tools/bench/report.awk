# SPDX-License-Identifier: MIT
#
# report.awk: turn tools/bench/run's results (scenario, system, metric,
# value; one line per run) into the markdown table on stdout and the JSON
# file named by -v json=FILE. Figures are medians over the runs.
BEGIN {
	FS = "\t"
	# What each system's figure is worth after a crash.
	dur["domino"] = "fsync'd: LMDB commit before the answer (group commit)"
	dur["webhook"] = "none: answers, runs `true`, stores nothing"
	dur["nginx"] = "none: answers 202, stores nothing (HTTP ceiling)"
	dur["js-sync"] = "JetStream file store, written but not fsync'd per message (2.9 syncs every 2 min)"
	dur["js-async"] = dur["js-sync"] " ; 256 in flight per client"
	dur["redis-always"] = "AOF fsync'd before the reply (appendfsync always)"
	dur["redis-everysec"] = "AOF fsync'd once a second (up to 1 s lost)"
	dur["mqtt-qos1"] = "in memory; persistence file only on autosave (30 min) or exit"
	dur["nats-core"] = "none: live only"
	dur["redis-pubsub"] = "none: live only"
	dur["mqtt-qos0"] = "none: live only"
	dur["js-push"] = dur["js-sync"]
	dur["redis-xread"] = dur["redis-always"]
	dur["js-ordered"] = "reads the JetStream file store"
	dur["redis-xrange"] = "reads the in-memory stream"
	dur["nng-echo"] = "none: nng req/rep round trip, nothing stored (the transport ceiling domino's publish rides on)"
	dur["nng-pub"] = "none: nng pub0 to sub0 over tcp, live only (the transport under domino's fan-out)"
	dur["nng-http"] = "none: nng's HTTP server answers 202 after reading the body, nothing parsed or stored (the library under domino's webhook endpoint)"
	dur["nginx-post"] = "none: answers 202 to wrk's ~600 B JSON POSTs, 16 keep-alive conns (the receiver's ceiling)"
	ddur["3"] = "published durably, 100 events per request (one commit each); live fan-out lossy by design, gaps counted"
	ddur["5"] = "reads the LMDB log"
	ddur["6"] = "each registration and event committed before the answer; µs/event is the CPU time of the graph walk inside the event's commit"
	ddur["7"] = "at-least-once: every delivery a record in LMDB, each state change committed"
	ddur["8"] = "-"
	nl = listeners + 0
	nlab = (nl >= 1000 && nl % 1000 == 0) ? (nl / 1000) "k" : nl

	n = 0
	row("1", "rps", "1 webhook ingest, signed GitHub push, 32 conns", "req/s", "webhook nginx nng-http")
	row("2.c1", "rate", "2 durable publish 512 B, 1 publisher", "msg/s", "js-sync js-async redis-always redis-everysec mqtt-qos1 nng-echo")
	row("2.c50", "rate", "2 durable publish 512 B, 50 publishers", "msg/s", "js-sync js-async redis-always redis-everysec mqtt-qos1 nng-echo")
	row("2.c50s", "rate", "2 durable publish 512 B, 50 publisher threads on one libdomino handle (concurrent domino_publish() calls group-committed)", "msg/s", "redis-always js-sync nng-echo")
	# The peers of this row are the 50-publisher row's figures, same run.
	palias["2.c50s"] = "2.c50"
	row("2.c50b", "rate", "2 durable publish 512 B, 50 publishers, batched (domino 100 per request, Redis 100 per pipeline, JetStream 256 in flight)", "msg/s", "js-async redis-always")
	row("3.s1", "rate", "3 fan-out 512 B, 1 subscriber", "deliveries/s", "nats-core redis-pubsub mqtt-qos0 nng-pub")
	row("3.s10", "rate", "3 fan-out 512 B, 10 subscribers", "deliveries/s", "nats-core redis-pubsub mqtt-qos0 nng-pub")
	row("4.r1000", "p50", "4 latency p50 @ 1k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("4.r1000", "p99", "4 latency p99 @ 1k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("4.r1000", "p999", "4 latency p99.9 @ 1k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("4.r10000", "p50", "4 latency p50 @ 10k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("4.r10000", "p99", "4 latency p99 @ 10k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("4.r10000", "p999", "4 latency p99.9 @ 10k ev/s, 10 subs", "µs", "js-push redis-xread")
	row("5", "rate", "5 replay of " replay_n " events from seq 1", "events/s", "js-ordered redis-xrange")
	row("6", "reg_rate", "6 registering " nlab " listeners (3 deps each), 32 clients", "registrations/s", "")
	row("6", "us", "6 matching at scale, " nlab " listeners", "µs/event", "")
	row("7", "rate", "7 callback delivery, 1,000 http listeners to nginx", "deliveries/s", "nginx-post")
	row("8", "rss", "8 broker RSS, " replay_n " events, 100 subs", "MB", "")
}

function row(scen, metric, label, unit, peers) {
	n++
	R_scen[n] = scen; R_metric[n] = metric; R_label[n] = label
	R_unit[n] = unit; R_peers[n] = peers
}

{
	k = $1 SUBSEP $2 SUBSEP $3
	cnt[k]++
	vals[k, cnt[k]] = $4 + 0
	raw[k] = cnt[k] > 1 ? raw[k] "," ($4 + 0) : ($4 + 0)
}

function median(k,    m, i, j, t, a) {
	m = cnt[k]
	if (m == 0)
		return ""
	for (i = 1; i <= m; i++)
		a[i] = vals[k, i]
	for (i = 2; i <= m; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (m % 2)
		return a[(m + 1) / 2]
	return (a[m / 2] + a[m / 2 + 1]) / 2
}

function fmt(v) {
	if (v == "")
		return "n/a"
	if (v >= 100)
		return sprintf("%.0f", v)
	return sprintf("%.1f", v)
}

function has(k) { return (k in cnt) }

# The median of another metric of the same row, for the figure's note.
function side(scen, metric) {
	return has(scen SUBSEP "domino" SUBSEP metric) ? median(scen SUBSEP "domino" SUBSEP metric) : ""
}

# A note after a domino figure that has no peer.
function extra(scen, metric) {
	if (scen == "8" && side(scen, "rss_anon") != "")
		return sprintf(" (anon %s, file-backed LMDB pages %s)",
		    fmt(side(scen, "rss_anon")), fmt(side(scen, "rss_file")))
	if (scen == "6" && metric == "reg_rate" && side(scen, "reg_secs") != "")
		return sprintf(" (%s s; broker RSS then %s MB, anon %s)",
		    fmt(side(scen, "reg_secs")), fmt(side(scen, "rss")),
		    fmt(side(scen, "rss_anon")))
	if (scen == "6" && metric == "us" && side(scen, "matches") != "")
		return sprintf(" (%.1f listeners reached per event)", side(scen, "matches"))
	return ""
}

function lossnote(scen, sys,    k) {
	k = scen SUBSEP sys SUBSEP "lost"
	if (!has(k))
		return ""
	return median(k) > 0 ? sprintf(" (lost %.0f)", median(k)) : " (0 lost)"
}

function jstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return "\"" s "\""
}

END {
	# The side metrics go to the JSON with the row they annotate.
	xm["8"] = "rss_anon rss_file"
	xm["6"] = "reg_secs rss rss_anon matches"
	xu["rss_anon"] = "MB"; xu["rss_file"] = "MB"; xu["rss"] = "MB"
	xu["reg_secs"] = "s"; xu["matches"] = "listeners/event"
	printf "\n| scenario | unit | domino | peer | peer figure | domino/peer | durability: domino / peer |\n"
	printf "| --- | --- | ---: | --- | ---: | ---: | --- |\n"
	nj = 0
	for (i = 1; i <= n; i++) {
		s = R_scen[i]; m = R_metric[i]
		dk = s SUBSEP "domino" SUBSEP m
		# A scenario left out of this run (BENCH_ONLY) gets no rows.
		ran = has(dk)
		np = split(R_peers[i], P, " ")
		ps = (s in palias) ? palias[s] : s
		for (p = 1; p <= np; p++)
			ran = ran || has(ps SUBSEP P[p] SUBSEP m)
		if (!ran)
			continue
		dv = has(dk) ? median(dk) : ""
		dd = (substr(s, 1, 1) in ddur) ? ddur[substr(s, 1, 1)] : dur["domino"]
		if (has(dk))
			J[++nj] = sprintf("{\"scenario\": %s, \"label\": %s, \"system\": \"domino\", \"metric\": %s, \"unit\": %s, \"median\": %s, \"runs\": [%s], \"durability\": %s}",
			    jstr(s), jstr(R_label[i]), jstr(m), jstr(R_unit[i]), dv, raw[dk], jstr(dd))
		np = split(R_peers[i], P, " ")
		if (np == 0) {
			printf "| %s | %s | %s%s | — | | | %s |\n", R_label[i], R_unit[i], fmt(dv), extra(s, m), dd
			if ((s in xm) && !(s in xdone)) {
				xdone[s] = 1
				nx = split(xm[s], X, " ")
				for (mm = 1; mm <= nx; mm++) {
					kk = s SUBSEP "domino" SUBSEP X[mm]
					if (has(kk))
						J[++nj] = sprintf("{\"scenario\": %s, \"system\": \"domino\", \"metric\": %s, \"unit\": %s, \"median\": %s, \"runs\": [%s]}", jstr(s), jstr(X[mm]), jstr(xu[X[mm]]), median(kk), raw[kk])
				}
			}
			continue
		}
		for (p = 1; p <= np; p++) {
			sys = P[p]
			pk = ps SUBSEP sys SUBSEP m
			pv = has(pk) ? median(pk) : ""
			ratio = (dv != "" && pv != "" && pv > 0) ? sprintf("%.2f", dv / pv) : "n/a"
			printf "| %s | %s | %s%s | %s | %s%s | %s | %s / %s |\n",
			    p == 1 ? R_label[i] : "", p == 1 ? R_unit[i] : "",
			    p == 1 ? fmt(dv) : "", p == 1 ? lossnote(s, "domino") : "",
			    sys, fmt(pv), lossnote(ps, sys), ratio,
			    p == 1 ? dd : "″", dur[sys]
			if (has(pk))
				J[++nj] = sprintf("{\"scenario\": %s, \"label\": %s, \"system\": %s, \"metric\": %s, \"unit\": %s, \"median\": %s, \"runs\": [%s], \"ratio_domino_over_peer\": %s, \"durability\": %s}",
				    jstr(s), jstr(R_label[i]), jstr(sys), jstr(m), jstr(R_unit[i]), pv, raw[pk],
				    ratio == "n/a" ? "null" : ratio, jstr(dur[sys]))
		}
	}
	for (k in cnt) {
		split(k, F, SUBSEP)
		if (F[3] == "load")
			loads = loads sprintf(" %s %s/s;", F[2], fmt(median(k)))
	}
	if (loads != "")
		printf "\nScenario 5 loading rate (events stored per second):%s\n", loads
	printf "\nMachine: %s. Command: `%s` (%s run(s) of %s s per figure, medians).\n", machine, cmd, runs, secs
	printf "{\n  \"machine\": %s,\n  \"command\": %s,\n  \"runs\": %s,\n  \"secs_per_run\": %s,\n  \"results\": [\n", jstr(machine), jstr(cmd), runs, secs > json
	for (j = 1; j <= nj; j++)
		printf "    %s%s\n", J[j], j < nj ? "," : "" > json
	printf "  ]\n}\n" > json
	close(json)
}
