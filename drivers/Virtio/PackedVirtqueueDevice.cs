using System.Runtime.CompilerServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// The device side of a packed virtqueue (virtio 1.2 §2.8) living in a peer's memory: take
/// buffers from the descriptor ring, write used descriptors back into it. Same shape as
/// <see cref="SplitVirtqueueDevice"/> (TryPop / PushUsed / PublishUsed / NeedsInterrupt) so the
/// vhost backend chooses the format once at start. Single-threaded: one lcore per queue. No
/// allocation and no exceptions after construction.
///
/// The driver can rewrite every byte of the ring at any time: each descriptor is read once
/// (<see cref="PackedDescriptor.ReadOnce"/>) and only the copy is validated and used. Every
/// address goes through <see cref="IGuestMemory.TryTranslate"/>.
/// </summary>
public sealed unsafe partial class PackedVirtqueueDevice
{
    readonly PackedRing _ring;
    readonly DescriptorTranslation _memory;
    readonly int _size;
    readonly bool _eventIdx;
    readonly bool _indirect;
    readonly bool _inOrder;
    // Per buffer id, between its pop and its return (see InFlightBuffer).
    readonly InFlightBuffer[] _buffers;

    int _nextAvail;          // next slot to read (§2.8.2)
    bool _availWrap;         // wrap counter of the lap _nextAvail is in
    int _nextUsed;           // next slot to write a used descriptor into
    bool _usedWrap;          // Device Ring Wrap Counter (§2.8.1)
    int _slotsInFlight;      // slots of popped chains not yet returned
    int _usedSinceSignal;    // slots marked used since the last NeedsInterrupt
    // In order (§2.8.8): device-readable buffers returned in ring order since the last write, not yet
    // written — one used descriptor, in the first one's slot with the last one's id, will cover them all.
    int _batchSlot = -1;
    bool _batchWrap;
    ushort _batchId;
    PackedDeviceErrors _errors;

    /// <summary>
    /// <paramref name="lastAvail"/> and <paramref name="availWrap"/> are the resume point from
    /// vhost-user SET_VRING_BASE (<see cref="PackedVringBase.TryDecode"/>); a fresh ring starts at
    /// slot 0 with wrap counters 1 (§2.8.1). Nothing is in flight on resume, so the used side
    /// starts at the same slot and lap. With <paramref name="inOrder"/> (VIRTIO_F_IN_ORDER negotiated),
    /// device-readable buffers returned in the order they were taken share one used descriptor (§2.8.8).
    /// </summary>
    public PackedVirtqueueDevice(PackedRing ring, IGuestMemory memory, bool eventIdx = false, bool indirectDesc = false,
        ushort lastAvail = 0, bool availWrap = true, bool inOrder = false)
    {
        if (lastAvail >= ring.Size)
            throw new ArgumentOutOfRangeException(nameof(lastAvail), lastAvail, $"packed ring resume index must be below the queue size {ring.Size}");
        _ring = ring;
        _memory = new DescriptorTranslation(memory);
        _size = ring.Size;
        _eventIdx = eventIdx;
        _indirect = indirectDesc;
        _inOrder = inOrder;
        _buffers = new InFlightBuffer[_size];
        _stagedSlot = new ushort[_size];
        _stagedWord = new ulong[_size];
        _nextAvail = _nextUsed = lastAvail;
        _availWrap = _usedWrap = availWrap;
    }

    public int Size => _size;
    /// <summary>The next slot to read; with <see cref="AvailWrapCounter"/>, what GET_VRING_BASE reports.</summary>
    public ushort LastAvailIndex => (ushort)_nextAvail;
    public bool AvailWrapCounter => _availWrap;
    /// <summary>The GET_VRING_BASE value (<see cref="PackedVringBase.Encode"/>).</summary>
    public uint VringBase => PackedVringBase.EncodeStopped((ushort)_nextAvail, _availWrap);
    public ref readonly PackedDeviceErrors Errors => ref _errors;

    /// <summary>
    /// Buffers (chains) the driver has made available that we have not taken yet, as far as the
    /// ring shows right now: a hint for sizing a burst. Reads one flags word per available slot.
    /// </summary>
    public int AvailableCount => CountAvailable(_size);

    /// <summary>Like <see cref="AvailableCount"/>, but stops after <paramref name="limit"/> buffers.</summary>
    public int CountAvailable(int limit)
    {
        int pos = _nextAvail, chains = 0;
        bool wrap = _availWrap;
        for (int walked = _slotsInFlight; walked < _size && chains < limit; walked++)
        {
            ushort flags = Volatile.Read(ref _ring.Desc[pos].Flags);
            if (!PackedDescriptor.IsAvailable(flags, wrap)) break;
            if ((flags & PackedDescriptor.FlagNext) == 0) chains++;
            if (++pos == _size) { pos = 0; wrap = !wrap; }
        }
        return chains;
    }

    /// <summary>
    /// Returns a buffer as used with the bytes written into it (§2.8.3, §2.8.4). Not visible to the
    /// driver until <see cref="PublishUsed"/>. False (counted) if <paramref name="id"/> is not in
    /// flight; a length above the buffer's writable bytes is counted and clamped.
    /// </summary>
    public bool PushUsed(ushort id, uint length)
    {
        InFlightBuffer[] buffers = _buffers;
        if (id >= buffers.Length || !buffers[id].InFlight) { _errors.BadUsedReturn++; return false; }
        InFlightBuffer b = buffers[id];
        buffers[id] = default;
        if (length > b.WritableBytes) { _errors.BadUsedReturn++; length = b.WritableBytes; }
        _slotsInFlight -= b.Slots;
        // §2.8.8: the oldest buffer taken (it starts where the next used descriptor goes) and nothing
        // for the device to report (no writable bytes: a skipped buffer counts as wholly used) joins
        // the batch. The driver then reads one descriptor per burst instead of one per buffer.
        if (_inOrder && b.WritableBytes == 0 && b.PopPosition == PackedEventSuppression.OffWrapOf(_nextUsed, _usedWrap))
            AddToBatch(id, b.Slots);
        else
            WriteUsed(id, length, b.Slots);
        return true;
    }

    /// <summary>
    /// Returns <paramref name="chains"/> (buffers taken by <see cref="TryPopBatch"/>, in pop order), none
    /// with bytes written, as <see cref="PushUsed"/> of each in turn would. In order (§2.8.8), the run of
    /// them that is next in used order, one slot and device-readable each, is one step of the in-order
    /// batch: state cleared per id, the cursors moved once. Each id is checked against the array, not
    /// trusted because we wrote it: a caller may pass any.
    /// </summary>
    public void PushUsedAll(ReadOnlySpan<VirtqChain> chains)
    {
        int k = 0;
        if (_inOrder)
        {
            InFlightBuffer[] buffers = _buffers;
            int slot = _nextUsed;
            bool wrap = _usedWrap;
            for (; k < chains.Length; k++)
            {
                ushort id = chains[k].Id;
                if (id >= buffers.Length || !InLine(buffers[id], PackedEventSuppression.OffWrapOf(slot, wrap))) break;
                buffers[id] = default;
                if (++slot == _size) { slot = 0; wrap = !wrap; }
            }
            if (k > 0)
            {
                _slotsInFlight -= k;
                AddToBatch(chains[k - 1].Id, k);
            }
        }
        for (; k < chains.Length; k++) PushUsed(chains[k].Id, 0);
    }

    /// <summary>In flight, one slot, device-readable and popped from <paramref name="position"/> (slot | wrap &lt;&lt; 15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool InLine(InFlightBuffer b, int position)
        => b.Slots == 1 && b.WritableBytes == 0 && b.PopPosition == position;

    /// <summary>
    /// Puts back the most recently popped buffer (not yet pushed used), as if it had not been taken:
    /// a frame that does not fit the buffers available now waits for more (mergeable rx). The
    /// descriptors are read and validated again on the next pop. Call in reverse order of popping.
    /// If slots were consumed after this buffer (a dropped bad chain), it cannot be put back without
    /// reading them again: it is returned as used with length 0 instead (publish it), so that the
    /// driver gets it back and its slots stop counting as in flight.
    /// </summary>
    public void UndoPop(ushort id)
    {
        InFlightBuffer[] buffers = _buffers;
        if (id >= buffers.Length || !buffers[id].InFlight) { _errors.BadUsedReturn++; return; }
        InFlightBuffer b = buffers[id];
        int start = b.PopPosition & 0x7FFF;
        bool startWrap = (b.PopPosition & 0x8000) != 0;
        int end = start + b.Slots;
        bool endWrap = startWrap;
        if (end >= _size) { end -= _size; endWrap = !endWrap; }
        if (end != _nextAvail || endWrap != _availWrap) { PushUsed(id, 0); return; }
        buffers[id] = default;
        _slotsInFlight -= b.Slots;
        _nextAvail = start;
        _availWrap = startWrap;
    }

    /// <summary>
    /// One used descriptor for a whole chain, in the slot after the previous one; then skip the
    /// chain's slots (§2.8.6). Flags: AVAIL = USED = our wrap counter (§2.8.1), WRITE when len
    /// counts written bytes (§2.8.3).
    /// </summary>
    void WriteUsed(ushort id, uint length, int slots)
    {
        WriteBatch();
        WriteDescriptor(_nextUsed, _usedWrap, id, length);
        StepUsed(slots);
    }

    void AddToBatch(ushort id, int slots)
    {
        if (_batchSlot < 0) { _batchSlot = _nextUsed; _batchWrap = _usedWrap; }
        _batchId = id;
        StepUsed(slots);
    }

    /// <summary>§2.8.8: the batch's one used descriptor; the driver skips the slots of every buffer in it.</summary>
    void WriteBatch()
    {
        if (_batchSlot < 0) return;
        WriteDescriptor(_batchSlot, _batchWrap, _batchId, 0);
        _batchSlot = -1;
    }

    void WriteDescriptor(int slot, bool wrap, ushort id, uint length)
    {
        ushort flags = wrap ? (ushort)(PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed) : (ushort)0;
        if (length != 0) flags |= PackedDescriptor.FlagWrite;
        Stage(slot, id, length, flags);
    }

    void StepUsed(int slots)
    {
        _usedSinceSignal += slots;
        _nextUsed += slots;
        // §2.8.1: the device flips its counter after marking the last slot of the ring used.
        if (_nextUsed >= _size) { _nextUsed -= _size; _usedWrap = !_usedWrap; }
    }

    /// <summary>
    /// Makes pushed used descriptors visible, all at once (§2.8.9: the driver never observes a partial
    /// batch): see <see cref="WriteStaged"/>.
    /// </summary>
    public void PublishUsed()
    {
        WriteBatch();
        WriteStaged();
    }

    /// <summary>
    /// After <see cref="PublishUsed"/>: should we notify the driver? Reads the Driver Event
    /// Suppression structure (§2.8.10, §2.8.14): DISABLE → no; DESC (with EVENT_IDX) → yes if the
    /// slot it names was marked used since the last decision; otherwise yes.
    /// </summary>
    public bool NeedsInterrupt()
    {
        // Store → load: our flags store must be visible before we read the driver's structure, or
        // the driver re-enables having seen the old flags while we read its stale DISABLE.
        Interlocked.MemoryBarrier();
        int moved = _usedSinceSignal;
        _usedSinceSignal = 0;
        return PackedEventSuppression.ShouldNotify(PackedRing.Snapshot(_ring.DriverEvent), _eventIdx, _size,
            (ushort)_nextUsed, _usedWrap, moved);
    }

    /// <summary>Asks the driver not to send available buffer notifications while we poll (§2.8.10). A hint.</summary>
    public void DisableAvailNotifications()
        => Volatile.Write(ref _ring.DeviceEvent->Flags, PackedEventSuppression.Disable);

    /// <summary>
    /// Asks for a notification at the next available buffer: with EVENT_IDX, DESC naming the slot we
    /// read next (§2.8.14); otherwise ENABLE. Returns true if a buffer is already available: poll
    /// again instead of sleeping.
    /// </summary>
    public bool EnableAvailNotifications()
    {
        if (_eventIdx)
        {
            Volatile.Write(ref _ring.DeviceEvent->OffWrap, PackedEventSuppression.OffWrapOf(_nextAvail, _availWrap));
            Volatile.Write(ref _ring.DeviceEvent->Flags, PackedEventSuppression.Desc);
        }
        else Volatile.Write(ref _ring.DeviceEvent->Flags, PackedEventSuppression.Enable);
        // Store → load: the driver may have added a buffer before it could see our request.
        Interlocked.MemoryBarrier();
        return PackedDescriptor.IsAvailable(Volatile.Read(ref _ring.Desc[_nextAvail].Flags), _availWrap);
    }
}
