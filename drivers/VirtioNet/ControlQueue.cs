using System.Diagnostics;
using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// The driver side of the control virtqueue (virtio 1.2 §5.1.6.5): one command at a time, from the
/// control thread, as a chain [class, command][data] readable + [ack] writable, in a split or packed
/// ring as negotiated. Whoever plays the device — a PCI device, or <see cref="VirtioUser.ControlQueueEmulator"/>
/// for a vhost-user backend that leaves the control queue to the front-end (DPDK lib/vhost, QEMU
/// vhost-user-net) — is told by <c>notify</c>, and the answer is polled for a bounded time.
/// </summary>
public sealed unsafe class ControlQueue
{
    const int CommandOffset = 0, DataOffset = 16, AckOffset = 48, MaxData = 32;

    readonly SplitVirtqueueDriver? _split;
    readonly PackedVirtqueueDriver? _packed;
    readonly PackedRing _packedRing;
    readonly byte* _buffer;          // [0] class, [1] command, [16..48) data, [48] ack
    readonly ulong _bufferAddress;   // the same buffer as the device addresses it (VA or IOVA)

    public ControlQueue(SplitRing ring, byte* buffer, ulong bufferAddress)
    {
        _split = new SplitVirtqueueDriver(ring);
        _split.DisableUsedNotifications();
        _buffer = buffer;
        _bufferAddress = bufferAddress;
    }

    public ControlQueue(PackedRing ring, byte* buffer, ulong bufferAddress)
    {
        _packed = new PackedVirtqueueDriver(ring);
        _packedRing = ring;
        _packed.DisableUsedNotifications();
        _buffer = buffer;
        _bufferAddress = bufferAddress;
    }

    /// <summary>Used entries the device handed back that we refused (bad ids or lengths).</summary>
    public ulong HostileValues => _split is not null ? _split.Errors.Total : _packed!.Errors.Total;

    /// <summary>§5.1.6.5.5: VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET. True when the device acked VIRTIO_NET_OK.</summary>
    public bool SetQueuePairs(ushort pairs, Action notify, TimeSpan timeout = default) =>
        Send(NetControl.ClassMq, NetControl.MqVqPairsSet, MemoryMarshal.AsBytes(new ReadOnlySpan<ushort>(in pairs)), notify, timeout);

    /// <summary>
    /// Sends one command and waits up to <paramref name="timeout"/> (default 2 s) for the device to
    /// use it. False when the device did not answer in time, or answered anything but VIRTIO_NET_OK;
    /// a command left unanswered stays in the ring, so the queue takes no more (the port must reset).
    /// </summary>
    public bool Send(byte cls, byte command, ReadOnlySpan<byte> data, Action notify, TimeSpan timeout = default)
    {
        if (data.Length > MaxData) throw new ArgumentException($"control command data over {MaxData} bytes");
        _buffer[CommandOffset] = cls;
        _buffer[CommandOffset + 1] = command;
        data.CopyTo(new Span<byte>(_buffer + DataOffset, data.Length));
        _buffer[AckOffset] = NetControl.Error;
        ReadOnlySpan<VirtqBuffer> chain =
        [
            VirtqBuffer.Readable(_bufferAddress + CommandOffset, 2),
            VirtqBuffer.Readable(_bufferAddress + DataOffset, (uint)data.Length),
            VirtqBuffer.Writable(_bufferAddress + AckOffset, 1),
        ];
        if (!TryAdd(chain)) return false;
        notify();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[1];
        var clock = Stopwatch.StartNew();
        var limit = timeout == default ? TimeSpan.FromSeconds(2) : timeout;
        int n;
        while ((n = PollUsed(done)) == 0 && clock.Elapsed < limit) Thread.Yield();
        // §5.1.6.5: the device writes the ack byte; a used length under 1 means it wrote nothing.
        if (n != 1 || done[0].Length < 1) return false;
        return Volatile.Read(ref _buffer[AckOffset]) == NetControl.Ok;
    }

    bool TryAdd(ReadOnlySpan<VirtqBuffer> chain)
    {
        if (_split is not null)
        {
            if (!_split.TryAdd(chain, 1, out _)) return false;
            _split.Publish();
            return true;
        }
        if (!_packed!.TryAdd(chain, 1, out _)) return false;
        _packed.Publish();
        return true;
    }

    /// <summary>What the ring shows after a command went unanswered: for the error message.</summary>
    public string Describe()
    {
        if (_split is not null) return $"split, {_split.Errors.Total} refused used entries";
        var e = _packed!.Errors;
        var d = _packedRing.Desc[0];
        return $"packed, slot 0 flags 0x{d.Flags:x4} id {d.Id} len {d.Len}; refused used entries: no outstanding {e.UsedWithoutOutstanding}, id out of range {e.UsedIdOutOfRange}, id not outstanding {e.UsedIdNotOutstanding}, length {e.UsedLengthTooLarge}";
    }

    int PollUsed(Span<VirtqCompletion> done) => _split is not null ? _split.PollUsed(done) : _packed!.PollUsed(done);
}
