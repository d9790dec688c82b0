using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The driver side of the control virtqueue (virtio 1.2 §5.1.6.5): one command at a time, from the
/// control thread, as a chain [class, command][data] readable + [ack] writable. Whoever plays the
/// device — the backend, or <see cref="ControlQueueEmulator"/> for a vhost-user backend that leaves
/// the control queue to the front-end (DPDK lib/vhost, QEMU vhost-user-net) — is told by
/// <paramref name="notify"/>.
/// </summary>
public sealed unsafe class ControlQueue
{
    readonly SplitVirtqueueDriver _driver;
    readonly byte* _buffer;  // [0] class, [1] command, [16..] data, [48] ack

    public ControlQueue(SplitRing ring, byte* buffer)
    {
        _driver = new SplitVirtqueueDriver(ring);
        _driver.DisableUsedNotifications();
        _buffer = buffer;
    }

    /// <summary>§5.1.6.5.5: VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET. True when the device acked VIRTIO_NET_OK.</summary>
    public bool SetQueuePairs(ushort pairs, Action notify) =>
        Send(NetControl.ClassMq, NetControl.MqVqPairsSet, MemoryMarshal.AsBytes(new ReadOnlySpan<ushort>(in pairs)), notify);

    public bool Send(byte cls, byte command, ReadOnlySpan<byte> data, Action notify)
    {
        if (data.Length > 32) throw new ArgumentException("control command data over 32 bytes");
        _buffer[0] = cls;
        _buffer[1] = command;
        data.CopyTo(new Span<byte>(_buffer + 16, data.Length));
        _buffer[48] = NetControl.Error;
        ReadOnlySpan<VirtqBuffer> chain =
        [
            VirtqBuffer.Readable((ulong)_buffer, 2),
            VirtqBuffer.Readable((ulong)(_buffer + 16), (uint)data.Length),
            VirtqBuffer.Writable((ulong)(_buffer + 48), 1),
        ];
        if (!_driver.TryAdd(chain, 1, out _)) return false;
        _driver.Publish();
        notify();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[1];
        // The device answers synchronously here (the emulator runs in notify); a real device would be polled.
        if (_driver.PollUsed(done) != 1 || done[0].Length < 1) return false;
        return Volatile.Read(ref _buffer[48]) == NetControl.Ok;
    }
}
