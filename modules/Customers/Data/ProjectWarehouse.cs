namespace Monolith.Customers.Data;

/// <summary>A row of <c>project_warehouses</c>: a warehouse serving a project of the same customer.</summary>
internal sealed class ProjectWarehouse
{
    public Guid ProjectId { get; set; }

    public Guid WarehouseId { get; set; }

    public Guid CustomerId { get; set; }

    public DateTime AssignedAt { get; set; }
}
