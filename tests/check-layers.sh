#!/bin/sh
# Enforce DESIGN.md §4: a module includes only modules of its own or a lower
# layer; only wire code includes msgpack; only identity, crypto and transport
# code include OpenSSL; only transport, node and the programs include libevent.
set -u
src=${top_srcdir:-.}/src
[ -d "$src" ] || { echo "no src dir at $src"; exit 99; }

layer_of() {
	case "$1" in
	error | errbuf | afile | log | clock | id | addr | rng | lru | buf | version | compat/*) echo 0 ;;
	wire | wire-* | ident | crypto | crypto-* | dgram) echo 1 ;;
	transport | tr-* | rpc | ratelimit | replay) echo 2 ;;
	rtable | rtable-* | store | store-* | members) echo 3 ;;
	lookup | dht | dht-* | gossip | gossip-* | suspicion | health | bcast | pex | bootstrap | state | state-*) echo 4 ;;
	conf | node | node-*) echo 5 ;;
	hypha/* | hyphad/*) echo 6 ;;
	*) echo "" ;;
	esac
}

bad=0
for f in $(cd "$src" && find . -name '*.[ch]' | sed 's|^\./||' | sort); do
	mod=${f%.[ch]}
	mod=${mod%-internal}
	lf=$(layer_of "$mod")
	if [ -z "$lf" ]; then
		echo "$f: module '$mod' has no layer in tests/check-layers.sh"
		bad=1
		continue
	fi
	for inc in $(sed -n 's/^#[ \t]*include[ \t]*[<"]\([^">]*\)[">].*/\1/p' "$src/$f"); do
		case "$inc" in
		msgpack.h | msgpack/*)
			case "$mod" in wire | wire-*) ;; *)
				echo "$f: includes $inc (only wire code may)"; bad=1 ;;
			esac ;;
		openssl/*)
			case "$mod" in ident | crypto | crypto-* | transport | tr-* | hyphad/* | hypha/*) ;; *)
				echo "$f: includes $inc (only identity, crypto and transport code may)"; bad=1 ;;
			esac ;;
		event2/*)
			case "$mod" in transport | tr-* | rpc | node | node-* | hyphad/* | hypha/*) ;; *)
				echo "$f: includes $inc (only transport, node and programs may)"; bad=1 ;;
			esac ;;
		*.h)
			im=${inc%.h}
			im=${im%-internal}
			[ -f "$src/$inc" ] || continue # system or public header
			li=$(layer_of "$im")
			if [ -n "$li" ] && [ "$li" -gt "$lf" ]; then
				echo "$f (layer $lf): includes $inc (layer $li)"
				bad=1
			fi ;;
		esac
	done
done
[ "$bad" -eq 0 ] && echo "layering: ok"
exit $bad
