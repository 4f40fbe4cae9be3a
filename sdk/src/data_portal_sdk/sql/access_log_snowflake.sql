-- The access log, from Snowflake's ACCOUNT_USAGE: one row per (query, object it read
-- directly), with the UTC day the query ran and the role it ran as (from QUERY_HISTORY).
-- DIRECT_OBJECTS_ACCESSED names the tables and views the query itself named, which is what
-- an output port exposes (BASE_OBJECTS_ACCESSED would resolve views to their base tables).
-- The time window around :day lets Snowflake prune the views; the exact UTC day is checked
-- on query_date below.
with access_log as (
    select
        ah.query_id as query_id,
        to_date(convert_timezone('UTC', ah.query_start_time)) as query_date,
        qh.role_name as role_name,
        upper(obj.value:"objectName"::string) as object_name
    from snowflake.account_usage.access_history as ah
    inner join snowflake.account_usage.query_history as qh
        on qh.query_id = ah.query_id,
        lateral flatten(input => ah.direct_objects_accessed) as obj
    where ah.query_start_time >= dateadd(day, -1, to_timestamp_tz(:day))
        and ah.query_start_time < dateadd(day, 2, to_timestamp_tz(:day))
        and qh.start_time >= dateadd(day, -1, to_timestamp_tz(:day))
        and qh.start_time < dateadd(day, 2, to_timestamp_tz(:day))
        and qh.execution_status = 'SUCCESS'
)
