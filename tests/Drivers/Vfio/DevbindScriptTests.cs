using System.Diagnostics;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.Vfio;

/// <summary>`./run.sh bind` (drivers/Vfio/devbind.sh) over a fake sysfs tree: status and its errors.</summary>
public sealed class DevbindScriptTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("dp-devbind-").FullName;

    void AddDevice(string bdf, string vendor, string device, string cls, string? driver, int? group)
    {
        string dev = Path.Combine(_root, "bus/pci/devices", bdf);
        Directory.CreateDirectory(dev);
        File.WriteAllText(Path.Combine(dev, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(dev, "device"), device + "\n");
        File.WriteAllText(Path.Combine(dev, "class"), cls + "\n");
        if (driver is not null)
        {
            Directory.CreateDirectory(Path.Combine(_root, "bus/pci/drivers", driver));
            File.CreateSymbolicLink(Path.Combine(dev, "driver"), Path.Combine(_root, "bus/pci/drivers", driver));
        }
        if (group is not null)
        {
            string g = Path.Combine(_root, "kernel/iommu_groups", group.ToString()!);
            Directory.CreateDirectory(g);
            File.CreateSymbolicLink(Path.Combine(dev, "iommu_group"), g);
        }
    }

    (int Code, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepoPaths.Root, "drivers/Vfio/devbind.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["SYSFS"] = _root;
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, e);
    }

    [Fact]
    public void Status_lists_network_and_virtio_devices_with_driver_and_group()
    {
        AddDevice("0000:00:04.0", "0x1af4", "0x1041", "0x020000", "vfio-pci", 4);
        AddDevice("0000:00:05.0", "0x8086", "0x10d3", "0x020000", "e1000e", null);
        AddDevice("0000:00:1f.0", "0x8086", "0x2918", "0x060100", "lpc_ich", null);   // not a NIC: not shown
        var (code, output, _) = Run("--status");
        Assert.Equal(0, code);
        Assert.Matches(@"0000:00:04\.0\s+1af4:1041\s+vfio-pci\s+4", output);
        Assert.Matches(@"0000:00:05\.0\s+8086:10d3\s+e1000e\s+-", output);
        Assert.DoesNotContain("00:1f.0", output);
    }

    [Fact]
    public void Bad_addresses_get_one_line_with_the_fix()
    {
        var (code, _, err) = Run("0000:00:09.0", "vfio-pci");
        Assert.NotEqual(0, code);
        Assert.Equal("bind: 0000:00:09.0: no such PCI device (lspci -D lists them)", err.Trim());
        (code, _, err) = Run("eth0", "vfio-pci");
        Assert.NotEqual(0, code);
        Assert.Contains("'eth0' is not a PCI address", err);
    }

    [Fact]
    public void A_device_already_on_the_driver_is_left_alone()
    {
        AddDevice("0000:00:04.0", "0x1af4", "0x1041", "0x020000", "vfio-pci", 4);
        var (code, output, _) = Run("00:04.0", "vfio-pci");
        Assert.Equal(0, code);
        Assert.Contains("0000:00:04.0: already bound to vfio-pci", output);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
