namespace Monolith.Customers.Data;

/// <summary>A row of <c>warehouses</c>. <see cref="Version"/> is PostgreSQL's xmin: the ETag.</summary>
internal sealed class Warehouse
{
    public Guid Id { get; set; }

    public Guid CustomerId { get; set; }

    public required string Name { get; set; }

    public required string Address { get; set; }

    public required string Country { get; set; }

    public int Capacity { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public uint Version { get; set; }
}
