using System.Runtime.InteropServices;

namespace Datapath.Drivers.VhostUser;

/// <summary>The single-region payload of ADD_MEM_REG / REM_MEM_REG: 8 bytes of padding, then the region.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct MemoryTableEntry
{
    public ulong Padding;
    public MemoryRegionDescription Region;
}
