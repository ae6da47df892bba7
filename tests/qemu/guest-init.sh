#!/bin/busybox sh
# shellcheck shell=dash disable=SC2013,SC2046
# /init of the test guest (tests/qemu/lib.sh packs it with a static busybox
# and the virtio_net modules). Configures eth0 from the kernel command line,
# runs the checks against the peer VM, prints one line per result on the
# serial console, then powers off. Every line for the test starts "HNVT ".
#
# Command line (hnv_*; read from /proc/cmdline):
#   hnv_ip=A/LEN hnv_gw=IP             eth0's address and default route (its
#                                      MTU is the NIC's: qemu's host_mtu)
#   hnv_peer=IP                        the VM on the other host
#   hnv_sum=SHA256                     what the peer sends (ports 5002, 5004)
# Steps and the lines they print (RESULT is "ok" or "fail"):
#   HNVT ready MAC mtu N               eth0 configured
#   HNVT RESULT ping-out ...           guest -> peer, after up to 60 s for a
#                                      first reply (the port may come late)
#   HNVT sent SHA BYTES                guest -> peer:5003, guest connects
#   HNVT RESULT tcp-in-connect ...     peer:5002 -> guest, guest connects
#   HNVT listening 5004                the peer may ping and connect now
#   HNVT RESULT tcp-in-accept ...      peer -> guest:5004, peer connects
#   HNVT done
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec >/dev/console 2>&1

say() { echo "HNVT $*"; }
finish()
{
	say "done"
	sync
	poweroff -f
}

for m in $(cat /modules.list); do
	insmod "/modules/$m" || say "fail insmod $m"
done

for w in $(cat /proc/cmdline); do
	case $w in
	hnv_ip=*) IP=${w#*=} ;;
	hnv_gw=*) GW=${w#*=} ;;
	hnv_peer=*) PEER=${w#*=} ;;
	hnv_sum=*) SUM=${w#*=} ;;
	esac
done

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || { say "fail eth0: no such device (virtio_net not loaded?)"; finish; }
ip link set lo up
ip addr add "$IP" dev eth0
ip link set eth0 up
ip route add default via "$GW"
say "ready $(cat /sys/class/net/eth0/address) mtu $(cat /sys/class/net/eth0/mtu)"

# ---- ping guest -> peer -------------------------------------------------------
i=0
until ping -c 1 -W 1 "$PEER" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 60 ] || break
done
if out=$(ping -c 3 -i 0.2 -W 2 "$PEER" 2>&1); then
	say "ok ping-out $(echo "$out" | grep -E 'packets transmitted')"
else
	say "fail ping-out (no reply after $i s): $(echo "$out" | tr '\n' ' ')"
	ip neigh show | sed 's/^/HNVT neigh /'
fi

# ---- TCP guest -> peer:5003 ---------------------------------------------------------
dd if=/dev/urandom of=/tmp/out bs=64k count=32 2>/dev/null
set -- $(sha256sum /tmp/out)
say "sent $1 $(wc -c </tmp/out)"
nc "$PEER" 5003 </tmp/out >/dev/null || say "fail tcp-out: nc to $PEER:5003 exited with $?"

# ---- TCP peer -> guest, the guest connects to peer:5002 -------------------------------
nc "$PEER" 5002 </dev/null >/tmp/in1
set -- $(sha256sum /tmp/in1)
if [ "$1" = "$SUM" ]; then
	say "ok tcp-in-connect $(wc -c </tmp/in1) bytes, sha256 $1"
else
	say "fail tcp-in-connect: got $(wc -c </tmp/in1) bytes with sha256 $1, want sha256 $SUM"
fi

# ---- TCP peer -> guest:5004, the peer connects (after its ping) -----------------------
nc -l -p 5004 </dev/null >/tmp/in2 &
ncpid=$!
sleep 0.2
say "listening 5004"
i=0
while kill -0 $ncpid 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill $ncpid 2>/dev/null
set -- $(sha256sum /tmp/in2)
if [ "$1" = "$SUM" ]; then
	say "ok tcp-in-accept $(wc -c </tmp/in2) bytes, sha256 $1"
else
	say "fail tcp-in-accept: got $(wc -c </tmp/in2) bytes with sha256 $1, want sha256 $SUM"
fi
finish
