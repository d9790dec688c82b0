using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

// Device side of a split virtqueue: what we remember of each chain between its pop and its return.
public sealed unsafe partial class SplitVirtqueueDevice
{
    /// <summary>
    /// One head id's state, 8 bytes, read and written whole: a pop stores it in one go and a return
    /// reads it in one load, where three arrays (in flight, writable bytes, pop position) took three
    /// bounds checks and three lines per id.
    /// </summary>
    struct InFlightChain
    {
        /// <summary>The chain's device-writable bytes: the most a used length may claim (§2.7.8).</summary>
        public uint WritableBytes;
        /// <summary>The avail ring position it was popped from: UndoPop can only rewind the newest.</summary>
        public ushort PopPosition;
        /// <summary>Popped and not yet returned.</summary>
        public bool InFlight;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public InFlightChain(uint writableBytes, ushort popPosition)
        {
            WritableBytes = writableBytes;
            PopPosition = popPosition;
            InFlight = true;
        }
    }
}
