using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue, available half: reading and validating a buffer.
public sealed unsafe partial class PackedVirtqueueDevice
{
    /// <summary>
    /// Takes the next buffer from the ring, validates every descriptor (ring and indirect) and
    /// translates it into <paramref name="segments"/>. On <see cref="VirtqPop.Chain"/> the caller
    /// owns the buffer until it calls <see cref="PushUsed"/> with <c>chain.Id</c>. A bad buffer
    /// whose id is usable is returned as used with length 0 (<see cref="VirtqPop.Dropped"/>).
    /// </summary>
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain)
    {
        chain = default;
        int pos = _nextAvail;
        bool wrap = _availWrap;
        // A chain cannot use slots we still hold (§2.8.17: at most the queue size); longer is a loop of NEXT flags.
        int room = _size - _slotsInFlight;
        ref ulong fault = ref Unsafe.NullRef<ulong>(); // first content error; the walk goes on to find the id
        var walk = new Walk();
        int slots = 0;
        ushort id;

        while (true)
        {
            // Acquire read of the flags, then the other fields (§2.8.21.1.1).
            PackedDescriptor d = PackedDescriptor.ReadOnce(_ring.Desc + pos);
            if (!PackedDescriptor.IsAvailable(d.Flags, wrap))
            {
                if (slots == 0) return VirtqPop.Empty;
                // §2.8.17: the driver makes the head available after the rest of the list, so a
                // NEXT that leads to an unavailable slot is a broken list. Consume nothing.
                _errors.ChainIncomplete++;
                return VirtqPop.Broken;
            }
            if (slots == room) { _errors.ChainTooLong++; return VirtqPop.Broken; }
            slots++;
            if (++pos == _size) { pos = 0; wrap = !wrap; }

            if (Unsafe.IsNullRef(ref fault))
            {
                if ((d.Flags & PackedDescriptor.FlagIndirect) != 0)
                {
                    // §2.8.19: never in a NEXT-linked list, so the only descriptor of its buffer.
                    if (!_indirect || slots != 1 || (d.Flags & PackedDescriptor.FlagNext) != 0) fault = ref _errors.IndirectNotAllowed;
                    else fault = ref WalkIndirect(d, segments, ref walk);
                }
                else fault = ref walk.Add(this, d.Addr, d.Len, (d.Flags & PackedDescriptor.FlagWrite) != 0, segments);
            }
            // §2.8.6: the buffer id is in the last descriptor of the list.
            if ((d.Flags & PackedDescriptor.FlagNext) == 0) { id = d.Id; break; }
        }

        if (!Unsafe.IsNullRef(ref fault) && Unsafe.AreSame(ref fault, ref _errors.TranslationFailed) && _memory.MissesAreTransient)
        {
            // An IOTLB miss: leave the buffer in the ring until the translation arrives.
            _errors.TranslationPending++;
            chain = default;
            return VirtqPop.Empty;
        }
        int start = _nextAvail;
        bool startWrap = _availWrap;
        _nextAvail = pos;
        _availWrap = wrap;
        if (id >= _size) { _errors.BufferIdOutOfRange++; return VirtqPop.Dropped; }
        if (_buffers[id].InFlight) { _errors.BufferIdInFlight++; return VirtqPop.Dropped; }
        chain.Id = id;
        if (!Unsafe.IsNullRef(ref fault))
        {
            fault++;
            // Give the buffer back so the driver can reuse it; it carries no data.
            WriteUsed(id, 0, slots);
            return VirtqPop.Dropped;
        }
        _buffers[id] = new InFlightBuffer((uint)walk.Writable, slots, PackedEventSuppression.OffWrapOf(start, startWrap));
        _slotsInFlight += slots;
        chain.Segments = walk.Count;
        chain.ReadableBytes = (uint)walk.Readable;
        chain.WritableBytes = (uint)walk.Writable;
        return VirtqPop.Chain;
    }

    /// <summary>
    /// §2.8.7: the table holds len / 16 descriptors, all of them part of the buffer. WRITE is the
    /// only flag that means anything there; NEXT, INDIRECT and the id are reserved and ignored.
    /// Returns the counter to charge, or a null ref if the table is good.
    /// </summary>
    ref ulong WalkIndirect(scoped in PackedDescriptor d, scoped Span<VirtqSegment> segments, scoped ref Walk walk)
    {
        // §2.8.5: without a device limit, a list holds at most queue-size descriptors.
        if (d.Len == 0 || d.Len % PackedDescriptor.Size != 0 || d.Len / PackedDescriptor.Size > (uint)_size)
            return ref _errors.IndirectBadLength;
        if (!_memory.TryTranslate(d.Addr, d.Len, deviceWrites: false, out nint t)) return ref _errors.TranslationFailed;
        var table = (PackedDescriptor*)t;
        int entries = (int)(d.Len / PackedDescriptor.Size);
        for (int i = 0; i < entries; i++)
        {
            PackedDescriptor e = PackedDescriptor.ReadOnce(table + i);
            ref ulong fault = ref walk.Add(this, e.Addr, e.Len, (e.Flags & PackedDescriptor.FlagWrite) != 0, segments);
            if (!Unsafe.IsNullRef(ref fault)) return ref fault;
        }
        return ref Unsafe.NullRef<ulong>();
    }

    /// <summary>Segments and byte counts gathered so far for one buffer.</summary>
    struct Walk
    {
        public int Count;
        public ulong Readable;
        public ulong Writable;

        /// <summary>Validates and translates one element; returns the counter to charge, or a null ref.</summary>
        public ref ulong Add(PackedVirtqueueDevice q, ulong addr, uint len, bool writable, scoped Span<VirtqSegment> segments)
        {
            if (len == 0) return ref q._errors.ZeroLength;
            // §2.8.17: device-writable elements come after all device-readable ones.
            if (!writable && Writable != 0) return ref q._errors.ReadableAfterWritable;
            if (Count == segments.Length) return ref q._errors.TooManySegments;
            if (!q._memory.TryTranslate(addr, len, writable, out nint p)) return ref q._errors.TranslationFailed;
            segments[Count++] = new VirtqSegment { Data = (byte*)p, Length = len, Writable = writable };
            if (writable) Writable += len; else Readable += len;
            // A buffer's total length stays below 2^32 bytes (as in §2.7.5 for split rings).
            if (Readable + Writable > uint.MaxValue) return ref q._errors.TooManySegments;
            return ref Unsafe.NullRef<ulong>();
        }
    }
}
