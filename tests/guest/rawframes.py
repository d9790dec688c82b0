#!/usr/bin/env python3
"""Sends N raw Ethernet frames (ethertype 0x88b5, local experimental: no IP, so the guest's
own stack sends nothing that could be mistaken for ours) on IFACE, each carrying a sequence
number, and counts the distinct ones that come back with source and destination swapped (a
macswap peer). Receiving runs beside sending so the echo never waits for the whole burst.
Usage: rawframes.py IFACE N [RESULT_FILE]; prints and writes key=value lines
(sent, echoed, foreign, seconds). Exit 0 iff every frame came back."""
import os
import socket, sys, threading, time

iface, n = sys.argv[1], int(sys.argv[2])
# Seconds without a frame, after the last send, before giving up (a cold vIOMMU IOTLB is slow to fill).
QUIET = float(os.environ.get('QUIET', '2.0'))
# Frames in flight at most: a macswap peer without tx retry (testpmd) drops what the guest's
# RX ring (256 by default) cannot hold, so the sender never gets further ahead than this.
WINDOW = int(os.environ.get('WINDOW', '64'))
out = sys.argv[3] if len(sys.argv) > 3 else None
ETH_P = 0x88B5
PEER = bytes.fromhex('020000000001')         # a locally administered address nobody owns
me = bytes.fromhex(open(f'/sys/class/net/{iface}/address').read().strip().replace(':', ''))

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P))
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root): room for the whole echo
s.bind((iface, ETH_P))
s.settimeout(0.2)

got, foreign, done = set(), 0, threading.Event()

def receive():
    global foreign
    quiet_since = None
    while len(got) < n:
        try:
            f, addr = s.recvfrom(2048)
        except socket.timeout:
            if done.is_set():
                quiet_since = quiet_since or time.time()
                if time.time() - quiet_since > QUIET:  # this long without a frame after the last send
                    return
            continue
        quiet_since = None
        if addr[2] == socket.PACKET_OUTGOING:        # our own frames, seen on the way out
            continue
        if f[0:6] == me and f[6:12] == PEER and len(f) >= 18:
            got.add(int.from_bytes(f[14:18], 'big'))
        else:
            foreign += 1

rx = threading.Thread(target=receive)
rx.start()
t0 = time.time()
payload = b'\0' * 46
given_up = 0                                     # frames taken as lost after a quiet wait
for i in range(n):
    waited = time.time()
    while i - len(got) - given_up >= WINDOW:
        if time.time() - waited > QUIET or not rx.is_alive():
            given_up = i - len(got)              # lost ones stall the sender once, not forever
            break
        time.sleep(0.0002)
    frame = PEER + me + ETH_P.to_bytes(2, 'big') + i.to_bytes(4, 'big') + payload
    while True:
        try:
            s.send(frame)
            break
        except OSError:                          # ENOBUFS: the tx queue is full, let it drain
            time.sleep(0.001)
done.set()
rx.join()
lines = [f'sent={n}', f'echoed={len(got)}', f'foreign={foreign}', f'seconds={time.time() - t0:.3f}']
print('rawframes: ' + ' '.join(lines))
if out:
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
sys.exit(0 if len(got) == n else 1)
