using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// /dev/vfio/N (or /dev/vfio/noiommu-N): the unit of ownership (linux/vfio.h, VFIO_GROUP_*). It must be
/// viable — every device in it bound to vfio-pci — before it joins a container.
/// </summary>
public sealed unsafe class VfioGroup : IDisposable
{
    int _fd;

    public int Number { get; }
    public bool NoIommu { get; }

    VfioGroup(int number, bool noIommu, int fd)
    {
        Number = number;
        NoIommu = noIommu;
        _fd = fd;
    }

    /// <summary>
    /// Finds the device's group, checks it is viable, and joins <paramref name="container"/> (setting
    /// its IOMMU type if this is the first group). Every failure is one line with the fix.
    /// </summary>
    public static VfioGroup Open(PciAddress device, VfioContainer container, PciSysfs sysfs)
    {
        if (!sysfs.Exists(device)) throw new VfioException($"{device}: no such PCI device (lspci -D lists them)");
        string? driver = sysfs.Driver(device);
        if (driver != PciSysfs.VfioDriver)
            throw new VfioException($"{device} is bound to {driver ?? "no driver"}, not vfio-pci: ./run.sh bind {device} vfio-pci");
        int group = sysfs.IommuGroup(device)
            ?? throw new VfioException($"{device} has no IOMMU group: enable the IOMMU (intel_iommu=on) or load vfio with enable_unsafe_noiommu_mode=1 and rebind");
        string normal = $"/dev/vfio/{group}", noiommu = $"/dev/vfio/noiommu-{group}";
        bool isNoIommu = !File.Exists(normal) && File.Exists(noiommu);
        string path = isNoIommu ? noiommu : normal;
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VfioException(errno == Libc.ENOENT
                ? $"{device}: neither {normal} nor {noiommu} exists: is vfio-pci bound (./run.sh bind {device} vfio-pci)?"
                : $"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)} (run as root; a group is open in one process at a time)");
        }
        var g = new VfioGroup(group, isNoIommu, fd);
        try
        {
            var status = new VfioGroupStatus { Argsz = (uint)sizeof(VfioGroupStatus) };
            Libc.IoctlChecked(fd, VfioUapi.GroupGetStatus, &status, "ioctl VFIO_GROUP_GET_STATUS", path);
            if ((status.Flags & VfioUapi.GroupFlagsViable) == 0)
                throw new VfioException(sysfs.ViabilityProblem(group) ?? $"IOMMU group {group} is not viable: bind every device of /sys/kernel/iommu_groups/{group}/devices to vfio-pci");
            if ((status.Flags & VfioUapi.GroupFlagsContainerSet) == 0)
            {
                int cfd = container.Fd;
                Libc.IoctlChecked(fd, VfioUapi.GroupSetContainer, &cfd, "ioctl VFIO_GROUP_SET_CONTAINER", path);
            }
            container.SetIommu(isNoIommu);
            return g;
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    /// <summary>VFIO_GROUP_GET_DEVICE_FD by the device's name (its PCI address).</summary>
    public int OpenDevice(PciAddress device)
    {
        byte* name = stackalloc byte[32];
        string s = device.ToString();
        for (int i = 0; i < s.Length; i++) name[i] = (byte)s[i];
        name[s.Length] = 0;
        int fd = Libc.Ioctl(_fd, VfioUapi.GroupGetDeviceFd, name);
        if (fd < 0) throw new SystemCallException("ioctl VFIO_GROUP_GET_DEVICE_FD", Marshal.GetLastPInvokeError(), s);
        return fd;
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Libc.Close(_fd);
        _fd = -1;
    }
}
