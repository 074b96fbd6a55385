"""Credit records and listings of entities with due process (SUPERVISION.md, 国办发〔2020〕49号)."""
