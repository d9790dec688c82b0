using System.Threading;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue, available half: four buffers at a time.
public sealed unsafe partial class PackedVirtqueueDevice
{
    /// <summary>Buffers <see cref="TryPopBatch"/> takes at once: the descriptors of one 64-byte cache line.</summary>
    public const int BatchSize = 4;

    /// <summary>
    /// Takes the next <see cref="BatchSize"/> buffers at once when they are the descriptors of one cache
    /// line (the next slot starts a line that lies inside the ring), all available, and each a whole
    /// buffer in one descriptor (neither NEXT nor INDIRECT) with a free id, a non-zero length and an
    /// address that translates — the common case of a virtio-net transmit ring (DPDK's vhost batch
    /// dequeue takes the same shape). The four flags words are read first, with acquire, then the rest
    /// of each descriptor once (§2.8.21.1.1). On false nothing was taken or counted: the caller goes on
    /// with <see cref="TryPop"/>, which takes, and counts, whatever did not fit here.
    /// On true, <paramref name="segments"/>[i] and <paramref name="chains"/>[i] describe buffer i.
    /// </summary>
    public bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains)
    {
        int pos = _nextAvail;
        if ((pos & (BatchSize - 1)) != 0 || pos + BatchSize > _size || _size - _slotsInFlight < BatchSize) return false;
        if (segments.Length < BatchSize || chains.Length < BatchSize) return false; // no exceptions on the data path
        PackedDescriptor* d = _ring.Desc + pos;
        bool wrap = _availWrap;
        ushort* flags = stackalloc ushort[BatchSize];
        for (int i = 0; i < BatchSize; i++)
        {
            ushort f = Volatile.Read(ref d[i].Flags);
            if (!PackedDescriptor.IsAvailable(f, wrap) || (f & (PackedDescriptor.FlagNext | PackedDescriptor.FlagIndirect)) != 0) return false;
            flags[i] = f;
        }

        int taken = 0;
        for (; taken < BatchSize; taken++)
        {
            // Plain reads: the acquire reads of the flags above keep them after the flags.
            ulong addr = d[taken].Addr;
            uint len = d[taken].Len;
            ushort id = d[taken].Id;
            if (len == 0 || id >= _size || _inFlight[id] || !_memory.TryTranslate(addr, len, out nint local)) goto Undo;
            _inFlight[id] = true; // a repeated id in the same line fails the check of its second slot
            bool writable = (flags[taken] & PackedDescriptor.FlagWrite) != 0;
            segments[taken] = new VirtqSegment { Data = (byte*)local, Length = len, Writable = writable };
            chains[taken] = new VirtqChain
            {
                Id = id,
                Segments = 1,
                ReadableBytes = writable ? 0 : len,
                WritableBytes = writable ? len : 0,
            };
        }

        for (int i = 0; i < BatchSize; i++)
        {
            ushort id = chains[i].Id;
            _writableBytes[id] = chains[i].WritableBytes;
            _slots[id] = 1;
            _popPosition[id] = PackedEventSuppression.OffWrapOf(pos + i, wrap);
        }
        _slotsInFlight += BatchSize;
        _nextAvail = pos + BatchSize;
        if (_nextAvail == _size) { _nextAvail = 0; _availWrap = !wrap; }
        return true;

    Undo:
        for (int i = 0; i < taken; i++) _inFlight[chains[i].Id] = false;
        return false;
    }
}
