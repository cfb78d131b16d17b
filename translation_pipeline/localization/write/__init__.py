"""Write the filled workbook by patching its worksheet XML."""
