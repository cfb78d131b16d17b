-- the project store's own database (the pipeline creates its tables on first use)
CREATE DATABASE IF NOT EXISTS translation CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL ON translation.* TO 'dagster'@'%';
