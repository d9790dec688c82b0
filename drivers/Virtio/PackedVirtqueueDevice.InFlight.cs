using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue: what we remember of each buffer between its pop and its return.
public sealed unsafe partial class PackedVirtqueueDevice
{
    /// <summary>
    /// One buffer id's state, 8 bytes, read and written whole: a pop stores it in one go and a return
    /// reads it in one load, where four arrays (in flight, writable bytes, slots, pop position) took
    /// four bounds checks and four lines per id. <see cref="Slots"/> is never 0 for a buffer in flight
    /// (a chain takes at least one slot), so 0 means free.
    /// </summary>
    struct InFlightBuffer
    {
        /// <summary>The chain's device-writable bytes: the most a used length may claim (§2.8.4).</summary>
        public uint WritableBytes;
        /// <summary>Ring slots the chain took (§2.8.6); 0 = not in flight.</summary>
        public ushort Slots;
        /// <summary>Where it was popped from, slot | wrap &lt;&lt; 15: UndoPop's order and the in-order batch (§2.8.8).</summary>
        public ushort PopPosition;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public InFlightBuffer(uint writableBytes, int slots, ushort popPosition)
        {
            WritableBytes = writableBytes;
            Slots = (ushort)slots;
            PopPosition = popPosition;
        }

        public readonly bool InFlight => Slots != 0;
    }
}
