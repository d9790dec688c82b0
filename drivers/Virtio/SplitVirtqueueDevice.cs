using System.Runtime.CompilerServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// The device side of a split virtqueue (virtio 1.2 §2.7) living in a peer's memory: take chains
/// from the available ring, hand them back on the used ring. Used by the vhost backend.
/// Single-threaded: one lcore per queue. No allocation and no exceptions after construction.
///
/// The driver can rewrite every byte of the rings at any time, so each shared value is read once
/// into a local (descriptors via <see cref="VirtqDescriptor.ReadOnce"/>) and only the local copy
/// is validated and used. Every address goes through <see cref="IGuestMemory.TryTranslate"/>.
/// </summary>
public sealed unsafe partial class SplitVirtqueueDevice
{
    readonly SplitRing _ring;
    readonly DescriptorTranslation _memory;
    readonly int _size;
    readonly int _mask;
    readonly bool _eventIdx;
    readonly bool _indirect;
    // Per head id, between its pop and its return (see InFlightChain).
    readonly InFlightChain[] _chains;

    ushort _lastAvail;        // next avail->ring position to read (§2.7.6)
    // avail->idx as last read and found sane: entries up to it were published before that acquire
    // load, so pops read the shared idx (a line the driver keeps writing) only when they reach it.
    ushort _availSeen;
    ushort _usedIdx;          // next used->idx to publish (§2.7.8)
    ushort _usedAtLastSignal; // used->idx when we last decided about interrupting (§2.7.7)
    SplitDeviceErrors _errors;

    public SplitVirtqueueDevice(SplitRing ring, IGuestMemory memory, bool eventIdx = false, bool indirectDesc = false,
        ushort lastAvail = 0, ushort usedIdx = 0)
    {
        _ring = ring;
        _memory = new DescriptorTranslation(memory);
        _size = ring.Size;
        _mask = ring.Size - 1;
        _eventIdx = eventIdx;
        _indirect = indirectDesc;
        _chains = new InFlightChain[_size];
        // vhost-user SET_VRING_BASE hands us the position to resume from.
        _lastAvail = lastAvail;
        _availSeen = lastAvail;
        _usedIdx = usedIdx;
        _usedAtLastSignal = usedIdx;
    }

    public int Size => _size;

    /// <summary>
    /// Chains the driver has made available that we have not taken yet (0 when the index is broken,
    /// counted in <see cref="SplitDeviceErrors.AvailIndexJump"/>). One shared read; a hint for sizing a burst.
    /// </summary>
    public int AvailableCount
    {
        get
        {
            ushort availIdx = Volatile.Read(ref *_ring.AvailIdx);
            int pending = (ushort)(availIdx - _lastAvail);
            if (pending <= _size)
            {
                _availSeen = availIdx;
                return pending;
            }
            // Callers size their bursts by this and never reach TryPop on a broken index: count it
            // here, or the ring stalls with no counter saying why.
            _errors.AvailIndexJump++;
            return 0;
        }
    }
    public ushort LastAvailIndex => _lastAvail;
    public ref readonly SplitDeviceErrors Errors => ref _errors;

    /// <summary>
    /// Takes the next chain from the available ring, validates every descriptor and translates it
    /// into <paramref name="segments"/>. On <see cref="VirtqPop.Chain"/> the caller owns the chain
    /// until it calls <see cref="PushUsed"/> with <c>chain.Id</c>.
    /// </summary>
    public VirtqPop TryPop(Span<VirtqSegment> segments, out VirtqChain chain)
    {
        chain = default;
        if (_lastAvail == _availSeen)
        {
            // Acquire: the ring entries and descriptors the driver wrote before bumping idx are
            // read after this load (§2.7.13.3 from the device's side).
            ushort availIdx = Volatile.Read(ref *_ring.AvailIdx);
            int pending = (ushort)(availIdx - _lastAvail);
            if (pending == 0) return VirtqPop.Empty;
            if (pending > _size) { _errors.AvailIndexJump++; return VirtqPop.Broken; }
            _availSeen = availIdx;
        }

        ushort head = Volatile.Read(ref _ring.AvailRing[_lastAvail & _mask]);
        _lastAvail++;
        if (head >= _size) { _errors.HeadOutOfRange++; return VirtqPop.Dropped; }
        if (_chains[head].InFlight) { _errors.HeadInFlight++; return VirtqPop.Dropped; }

        chain.Id = head;
        if (!(segments.Length > 0 && TryTakeSingle(head, ref segments[0], ref chain, largestRangeOnly: false)) && !WalkChain(head, segments, ref chain))
        {
            if (_translationPending)
            {
                // An IOTLB miss: leave the chain in the ring until the translation arrives.
                _translationPending = false;
                _lastAvail--;
                _errors.TranslationPending++;
                chain = default;
                return VirtqPop.Empty;
            }
            // Give the buffer back so the driver can reuse it; it carries no data.
            chain = new VirtqChain { Id = head };
            WriteUsed(head, 0);
            return VirtqPop.Dropped;
        }
        _chains[head] = new InFlightChain(chain.WritableBytes, (ushort)(_lastAvail - 1));
        return VirtqPop.Chain;
    }

    /// <summary>
    /// <see cref="TryPop"/> for the common chain only, inline and with no call in it, for a caller's loop
    /// that must not have one (a call makes the JIT keep the loop's values on the stack): the next head
    /// already seen available, one descriptor (neither NEXT nor INDIRECT) with a non-zero length, with
    /// an address in the flat memory map's largest range. False, nothing taken or counted, for anything
    /// else, and when no entry is known available: <see cref="TryPop"/> reads avail->idx, then takes
    /// or counts it (the descriptor is read again there; only the copy validated here is used here).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopSingleFlat(ref VirtqSegment segment, ref VirtqChain chain)
    {
        if (_lastAvail == _availSeen) return false;
        // After the acquire read of avail->idx that covered this entry (_availSeen).
        ushort head = Volatile.Read(ref _ring.AvailRing[_lastAvail & _mask]);
        InFlightChain[] chains = _chains;
        if (head >= (uint)chains.Length || chains[head].InFlight || !TryTakeSingle(head, ref segment, ref chain, largestRangeOnly: true)) return false;
        chain.Id = head;
        chains[head] = new InFlightChain(chain.WritableBytes, _lastAvail);
        _lastAvail++;
        return true;
    }

    bool _translationPending;

    /// <summary>
    /// The common chain, one descriptor with neither NEXT nor INDIRECT (a virtio-net frame with its
    /// header, as DPDK's virtio and Linux with ANY_LAYOUT send it), taken without the general walk and
    /// its bookkeeping. Decides only success: anything else (a zero length, an address that does not
    /// translate) returns false and <see cref="WalkChain"/> reads the descriptor again, rejects and
    /// counts it. With <paramref name="largestRangeOnly"/> (a constant at each caller) the address is
    /// looked up in the flat map's largest range only, inline: no call (<see cref="TryPopSingleFlat"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryTakeSingle(ushort head, ref VirtqSegment s, ref VirtqChain chain, bool largestRangeOnly)
    {
        VirtqDescriptor d = VirtqDescriptor.ReadOnce(_ring.Desc + head);
        if ((d.Flags & (VirtqDescriptor.FlagNext | VirtqDescriptor.FlagIndirect)) != 0 || d.Len == 0) return false;
        nint p;
        if (largestRangeOnly)
        {
            if (_memory.Flat is not { } map || !map.TryTranslateLargest(d.Addr, d.Len, out p)) return false;
        }
        else if (!_memory.TryTranslate(d.Addr, d.Len, (d.Flags & VirtqDescriptor.FlagWrite) != 0, out p)) return false;
        bool writable = (d.Flags & VirtqDescriptor.FlagWrite) != 0;
        s.Data = (byte*)p;
        s.Length = d.Len;
        s.Writable = writable;
        chain.Segments = 1;
        chain.ReadableBytes = writable ? 0 : d.Len;
        chain.WritableBytes = writable ? d.Len : 0;
        return true;
    }

    bool TranslationMissed()
    {
        if (_memory.MissesAreTransient) _translationPending = true;
        else _errors.TranslationFailed++;
        return false;
    }

    /// <summary>Follows `next` links from <paramref name="head"/>, into at most one indirect table (§2.7.5.3).</summary>
    bool WalkChain(ushort head, Span<VirtqSegment> segments, ref VirtqChain chain)
    {
        VirtqDescriptor* table = _ring.Desc;
        int tableSize = _size;
        int index = head;
        int walked = 0;
        bool inIndirect = false;
        bool sawWritable = false;
        ulong readable = 0, writable = 0;
        int n = 0;

        while (true)
        {
            if ((uint)index >= (uint)tableSize) { _errors.DescriptorOutOfRange++; return false; }
            // §2.7.5: a chain is never longer than its table; longer means a loop.
            if (++walked > tableSize) { _errors.ChainTooLong++; return false; }
            VirtqDescriptor d = VirtqDescriptor.ReadOnce(table + index);

            if ((d.Flags & VirtqDescriptor.FlagIndirect) != 0)
            {
                if (inIndirect) { _errors.NestedIndirect++; return false; }
                if (!_indirect || (d.Flags & VirtqDescriptor.FlagNext) != 0) { _errors.IndirectNotAllowed++; return false; }
                if (d.Len == 0 || d.Len % VirtqDescriptor.Size != 0 || d.Len / VirtqDescriptor.Size > (uint)_size)
                { _errors.IndirectBadLength++; return false; }
                if (!_memory.TryTranslate(d.Addr, d.Len, deviceWrites: false, out nint t)) return TranslationMissed();
                table = (VirtqDescriptor*)t;
                tableSize = (int)(d.Len / VirtqDescriptor.Size);
                index = 0;
                walked = 0;
                inIndirect = true;
                continue;
            }

            if (d.Len == 0) { _errors.ZeroLength++; return false; }
            bool isWritable = (d.Flags & VirtqDescriptor.FlagWrite) != 0;
            if (!isWritable && sawWritable) { _errors.ReadableAfterWritable++; return false; }
            sawWritable |= isWritable;
            if (n == segments.Length) { _errors.TooManySegments++; return false; }
            if (!_memory.TryTranslate(d.Addr, d.Len, isWritable, out nint p)) return TranslationMissed();
            segments[n++] = new VirtqSegment { Data = (byte*)p, Length = d.Len, Writable = isWritable };
            if (isWritable) writable += d.Len; else readable += d.Len;
            // §2.7.5: a chain's total length is below 2^32 bytes.
            if (readable + writable > uint.MaxValue) { _errors.TooManySegments++; return false; }

            if ((d.Flags & VirtqDescriptor.FlagNext) == 0) break;
            index = d.Next;
        }
        chain.Segments = n;
        chain.ReadableBytes = (uint)readable;
        chain.WritableBytes = (uint)writable;
        return true;
    }

    /// <summary>
    /// Returns a chain as used, with the bytes written into it (§2.7.8). Not visible to the driver
    /// until <see cref="PublishUsed"/>. False (counted) if <paramref name="id"/> is not in flight;
    /// a length above the chain's writable bytes is counted and clamped.
    /// </summary>
    public bool PushUsed(ushort id, uint length)
    {
        InFlightChain[] chains = _chains;
        if (id >= chains.Length || !chains[id].InFlight) { _errors.BadUsedReturn++; return false; }
        uint writable = chains[id].WritableBytes;
        chains[id] = default;
        if (length > writable) { _errors.BadUsedReturn++; length = writable; }
        WriteUsed(id, length);
        return true;
    }

    /// <summary>
    /// Puts back the most recently popped chain (not yet pushed used), as if it had not been taken:
    /// a frame that does not fit the buffers available now waits for more (mergeable rx). The ring
    /// entry is read and validated again on the next pop. Call in reverse order of popping.
    /// If entries were consumed after this chain (a dropped bad chain, a repeated head), it cannot
    /// be put back without re-reading them: it is returned as used with length 0 instead (publish it).
    /// </summary>
    public void UndoPop(ushort id)
    {
        InFlightChain[] chains = _chains;
        if (id >= chains.Length || !chains[id].InFlight) { _errors.BadUsedReturn++; return; }
        ushort popPosition = chains[id].PopPosition;
        chains[id] = default;
        // Rewinding past a dropped entry would pop that entry again (a bad chain returned twice on
        // the used ring) and leave this chain's entry behind for good (the driver never gets it back).
        if (popPosition != (ushort)(_lastAvail - 1)) { WriteUsed(id, 0); return; }
        _lastAvail--;
    }

    void WriteUsed(ushort id, uint length)
    {
        VirtqUsedElement* e = _ring.UsedRing + (_usedIdx & _mask);
        e->Id = id;
        e->Len = length;
        _usedIdx++;
    }

    /// <summary>
    /// Makes pushed used elements visible (§2.7.8.2). Release: the elements are written before the
    /// idx that covers them, or the driver could read a stale id for a slot it believes is used.
    /// </summary>
    public void PublishUsed() => Volatile.Write(ref *_ring.UsedIdx, _usedIdx);

    /// <summary>
    /// After <see cref="PublishUsed"/>: should we interrupt the driver (§2.7.7)? With EVENT_IDX, yes
    /// if used->idx moved past avail->used_event since the last decision; otherwise unless
    /// avail->flags has VIRTQ_AVAIL_F_NO_INTERRUPT.
    /// </summary>
    public bool NeedsInterrupt()
    {
        // Store → load fence: our used idx must be globally visible before we read the driver's
        // suppression field; otherwise the driver can re-enable interrupts having seen the old idx
        // while we read its stale "no interrupt" and stay silent — a lost wake-up.
        Interlocked.MemoryBarrier();
        ushort old = _usedAtLastSignal;
        _usedAtLastSignal = _usedIdx;
        if (_eventIdx) return VirtqEvent.NeedEvent(Volatile.Read(ref *_ring.UsedEvent), _usedIdx, old);
        return (Volatile.Read(ref *_ring.AvailFlags) & SplitRing.AvailFlagNoInterrupt) == 0;
    }

    /// <summary>Asks the driver not to notify us while we poll (§2.7.10). A hint.</summary>
    public void DisableAvailNotifications()
    {
        if (!_eventIdx) Volatile.Write(ref *_ring.UsedFlags, SplitRing.UsedFlagNoNotify);
        // With EVENT_IDX, leaving avail_event behind suppresses notifications.
    }

    /// <summary>
    /// Asks for a notification at the next available buffer (§2.7.10). Returns true if buffers
    /// are already available: poll again instead of sleeping.
    /// </summary>
    public bool EnableAvailNotifications()
    {
        if (_eventIdx) Volatile.Write(ref *_ring.AvailEvent, _lastAvail);
        else Volatile.Write(ref *_ring.UsedFlags, 0);
        // Store → load: the driver may have added a buffer before it could see our request.
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref *_ring.AvailIdx) != _lastAvail;
    }
}
