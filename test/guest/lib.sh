# The guest's orders (sourced by /init, and by `sh -c '. /lib/guest.sh; …'` run through the agent's
# guest-exec): files with checksums, a bounded writer, fstrim, reading back, power-off.
# File content is its own checksum: a file w/N of generation G is the line "wN gG" repeated, so a
# file cut short or mixed from two generations is seen without any record kept beside it.
gen_file() { yes "$1 g$2" | head -c "$3"; }

# seed NAME KIB: random content, synced; prints "md5  path".
seed() { mkdir -p "/mnt/${1%/*}"; head -c "$(($2 * 1024))" /dev/urandom >"/mnt/$1.tmp" && sync && mv "/mnt/$1.tmp" "/mnt/$1" && sync && md5sum "/mnt/$1"; }

# writer N KIB MAXGEN TRIMEVERY: rewrites w/0..N-1 (write, sync, rename, sync) until /tmp/stop or
# MAXGEN generations, and runs fstrim every TRIMEVERY generations.
writer() {
  mkdir -p /mnt/w; rm -f /tmp/stop; echo 0 >/tmp/gen
  (
    g=1
    while [ ! -e /tmp/stop ] && [ $g -le "$3" ]; do
      i=0
      while [ $i -lt "$1" ]; do
        gen_file "w$i" $g "$(($2 * 1024))" >"/mnt/w/$i.tmp"; sync; mv "/mnt/w/$i.tmp" "/mnt/w/$i"; i=$((i + 1))
      done
      sync; echo $g >/tmp/gen
      [ $((g % $4)) -eq 0 ] && fstrim /mnt >/dev/null 2>&1 && echo $g >/tmp/trimmed
      g=$((g + 1))
    done
    touch /tmp/writer-done
  ) </dev/null >/dev/null 2>&1 &
  echo $! >/tmp/writer.pid
}
writer_gen() { cat /tmp/gen; }
writer_stop() { touch /tmp/stop; while [ ! -e /tmp/writer-done ]; do sleep 0.1; done; rm -f /tmp/writer-done; echo "gen $(cat /tmp/gen) trimmed $(cat /tmp/trimmed 2>/dev/null || echo 0)"; }

# verify_w: every w/N whole and of one generation; prints "w/N gG" per file, or "BAD w/N".
verify_w() {
  for f in /mnt/w/*; do
    case "$f" in *.tmp|'/mnt/w/*') continue ;; esac
    first=$(head -n 1 "$f")
    size=$(wc -c <"$f")
    if [ "$(yes "$first" | head -c "$size" | md5sum | cut -c1-32)" = "$(md5sum <"$f" | cut -c1-32)" ] && [ $((size % 1024)) -eq 0 ] && [ "$size" -gt 0 ]; then
      echo "${f#/mnt/} ${first#* }"
    else
      echo "BAD ${f#/mnt/}"
    fi
  done
}
dropcaches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
sums() { find /mnt -type f ! -name '*.tmp' ! -path '*/lost+found/*' | sort | xargs md5sum; }
off() { [ -f /var/run/qga.pid ] && kill "$(cat /var/run/qga.pid)"; sync; umount /mnt/b 2>/dev/null; umount /mnt; poweroff -f; }

