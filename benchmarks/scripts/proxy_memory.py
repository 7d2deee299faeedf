#!/usr/bin/env python3
"""Issue 3's proxy benchmark, measured from outside the proxy process.

Starts `rxstreams proxy` between a sender that pushes SIZE bytes as fast as it can and a receiver that reads at RATE
bytes/s, checks every byte arrives in order, and samples the proxy's VmRSS twice a second.

usage: proxy_memory.py CLI_DLL [SIZE_MIB=1024] [RATE_MB_S=8]
"""
import os, socket, subprocess, sys, threading, time

cli = sys.argv[1]
size = int(sys.argv[2] if len(sys.argv) > 2 else 1024) * 1024 * 1024
rate = float(sys.argv[3] if len(sys.argv) > 3 else 8) * 1_000_000

def pattern(offset, n):
    # byte i of the stream depends on i only: loss or reordering shows
    return bytes(((offset + i) * 131 + ((offset + i) >> 10)) & 0xFF for i in range(n))

BLOCK = 64 * 1024
blocks = [pattern(k * BLOCK, BLOCK) for k in range(256)]  # period of 16 MiB, precomputed

def block_at(offset):
    return blocks[(offset // BLOCK) % len(blocks)]

listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen()
target_port = listener.getsockname()[1]
free = socket.socket(); free.bind(('127.0.0.1', 0)); proxy_port = free.getsockname()[1]; free.close()
proxy = subprocess.Popen(['dotnet', cli, 'proxy', '--listen', f'127.0.0.1:{proxy_port}', '--to', f'127.0.0.1:{target_port}'],
                         stdout=subprocess.PIPE, text=True)
proxy.stdout.readline()  # "Proxying ..."

def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])

baseline = rss_kib(proxy.pid)
samples = []
done = threading.Event()
def sampler():
    while not done.is_set():
        samples.append(rss_kib(proxy.pid)); time.sleep(0.5)
threading.Thread(target=sampler, daemon=True).start()

sender = socket.create_connection(('127.0.0.1', proxy_port))
receiver, _ = listener.accept()
def send():
    offset = 0
    while offset < size:
        sender.sendall(block_at(offset)); offset += BLOCK
    sender.shutdown(socket.SHUT_WR)
threading.Thread(target=send, daemon=True).start()

start = time.time(); received = 0; ok = True
while True:
    data = receiver.recv(BLOCK)
    if not data:
        break
    at = received % BLOCK
    expected = block_at(received)[at:at + len(data)]
    if data[:len(expected)] != expected[:len(data)]:
        ok = False
    received += len(data)
    # the slow reader: keep the average at RATE
    ahead = received / rate - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
done.set()
elapsed = time.time() - start
proxy.terminate(); proxy.wait()
print(f'sent {size} bytes, received {received} in order: {ok and received == size}; {received / elapsed / 1e6:.1f} MB/s over {elapsed:.0f} s')
print(f'proxy RSS: baseline {baseline} KiB, max {max(samples)} KiB (growth {max(samples) - baseline} KiB), last {samples[-1]} KiB')
