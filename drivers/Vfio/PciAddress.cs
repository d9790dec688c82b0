using System.Globalization;
using System.Text.RegularExpressions;

namespace Datapath.Drivers.Vfio;

/// <summary>A PCI address as DPDK's -a takes it: domain:bus:device.function (0000:00:04.0); the domain may be left out.</summary>
public readonly partial record struct PciAddress(int Domain, int Bus, int Device, int Function)
{
    [GeneratedRegex(@"^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-1]?[0-9a-fA-F])\.([0-7])$")]
    private static partial Regex Pattern();

    public static bool TryParse(string text, out PciAddress address)
    {
        address = default;
        var m = Pattern().Match(text.Trim());
        if (!m.Success) return false;
        int Hex(Group g) => g.Success ? int.Parse(g.Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0;
        int device = Hex(m.Groups[3]);
        if (device > 0x1f) return false;
        address = new PciAddress(Hex(m.Groups[1]), Hex(m.Groups[2]), device, Hex(m.Groups[4]));
        return true;
    }

    public static PciAddress Parse(string text) =>
        TryParse(text, out var a) ? a : throw new VfioException($"'{text}' is not a PCI address (expected domain:bus:device.function, e.g. 0000:00:04.0)");

    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x}";
}
