namespace Datapath.Drivers.Virtio;

/// <summary>Device side: what one attempt to take a chain from the available ring found.</summary>
public enum VirtqPop
{
    /// <summary>A valid chain: its segments are filled in.</summary>
    Chain,
    /// <summary>Nothing available.</summary>
    Empty,
    /// <summary>The driver offered a bad chain: counted, and (if its id was usable) already returned as used with length 0.</summary>
    Dropped,
    /// <summary>The ring itself is inconsistent (avail idx jump): counted, nothing consumed. The owner should reset the queue.</summary>
    Broken,
}
