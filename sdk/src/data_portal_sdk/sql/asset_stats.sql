-- asset_stats of one output port and one UTC day: per asset and consumer, the queries that
-- read the asset (one query joining two tables touches each once; a self-join touches once).
select
    logged.query_date as date,
    port_asset.tech_asset_id as tech_asset_id,
    port_consumer.consumer_id as consumer_id,
    count(distinct logged.query_id) as query_count
from access_log as logged
inner join data_portal_tech_assets as port_asset
    on upper(port_asset.object_name) = upper(logged.object_name)
inner join data_portal_consumers as port_consumer
    on upper(port_consumer.role_name) = upper(logged.role_name)
where logged.query_date = :day
    and port_asset.output_port_id = :output_port_id
group by logged.query_date, port_asset.tech_asset_id, port_consumer.consumer_id
